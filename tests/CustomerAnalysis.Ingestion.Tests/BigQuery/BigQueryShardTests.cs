using System.Text.Json;
using System.Text.RegularExpressions;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.BigQuery;

namespace CustomerAnalysis.Ingestion.Tests.BigQuery;

/// <summary>Shard queries, the dry run, the bytes cap and <c>errors</c> in successful responses, against a fake that
/// answers from a table it holds, in the REST API's documented JSON (QueryResponse, schema, f/v rows).</summary>
public class BigQueryShardTests
{
    private const string Uri = "bq://my-proj.analytics_1.events_*?from=20210121&to=20210122";

    private sealed class FixedToken : IAccessTokenProvider
    {
        public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken) => Task.FromResult("t");
    }

    private static EventSourceOptions Options(FakeBigQueryServer server, long? maxBytes = null) => new()
    {
        BigQueryBaseUrl = server.BaseUrl, BigQueryAccessTokens = new FixedToken(), BigQueryMaxAttempts = 1,
        BigQueryRetryDelay = TimeSpan.FromMilliseconds(1), BigQueryPollInterval = TimeSpan.FromMilliseconds(1),
        BigQueryMaximumBytesBilled = maxBytes,
    };

    /// <summary>The fake's table: 12 users with 3 events each (two tie on timestamp).</summary>
    private static readonly (string User, long Timestamp, string Name, long Session)[] Table =
        Enumerable.Range(0, 12).SelectMany(u => new[]
        {
            ($"user-{u}", 1_000L + u, "session_start", 100L + u),
            ($"user-{u}", 2_000L + u, "page_view", 100L + u),
            ($"user-{u}", 2_000L + u, "scroll", 100L + u),
        }).ToArray();

    private const long TableBytes = 52_428_800;

    /// <summary>The fake's own "FARM_FINGERPRINT": the user's number, reversed, mod N — deliberately not XxHash64, so a
    /// client-side filter would show.</summary>
    private static int FakeShardOf(string user, int shards) => (11 - int.Parse(user["user-".Length..])) % shards;

    private static (int, string) Answer(ReceivedRequest request)
    {
        var body = JsonDocument.Parse(request.Body).RootElement;
        var parameters = body.TryGetProperty("queryParameters", out var p)
            ? p.EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!,
                x => x.GetProperty("parameterValue").GetProperty("value").GetString()!)
            : [];
        var maxBytes = body.TryGetProperty("maximumBytesBilled", out var m) ? long.Parse(m.GetString()!) : long.MaxValue;
        if (maxBytes < TableBytes)
            return (400, $$"""
                {"error":{"code":400,"message":"Query exceeded limit for bytes billed: {{maxBytes}}. {{TableBytes}} or higher required.",
                  "errors":[{"message":"Query exceeded limit for bytes billed: {{maxBytes}}. {{TableBytes}} or higher required.","domain":"global","reason":"bytesBilledLimitExceeded"}],
                  "status":"INVALID_ARGUMENT"}
                }
                """);
        const string job = """{"projectId":"my-proj","jobId":"job_1","location":"US"}""";
        if (body.TryGetProperty("dryRun", out var dry) && dry.GetBoolean())
            return (200, $$"""
                {"kind":"bigquery#queryResponse","jobReference":{"projectId":"my-proj","location":"US"},
                 "totalBytesProcessed":"{{TableBytes}}","jobComplete":true,"cacheHit":false}
                """);
        var shards = int.Parse(parameters["shards"]);
        var shard = int.Parse(parameters["shard"]);
        // A REPEATED RECORD cell: {"v":[{"v":{"f":[...]}}, ...]}.
        var rows = Table.GroupBy(e => e.User).Where(g => FakeShardOf(g.Key, shards) == shard).Select(g =>
            "{\"f\":[{\"v\":\"" + g.Key + "\"},{\"v\":[" + string.Join(",", g.Select(e =>
                "{\"v\":{\"f\":[{\"v\":\"" + e.Timestamp + "\"},{\"v\":\"" + e.Name + "\"},{\"v\":null},{\"v\":\""
                + e.Session + "\"}]}}")) + "]}]}");
        return (200, $$"""
            {"kind":"bigquery#queryResponse","schema":{"fields":[
               {"name":"user_pseudo_id","type":"STRING","mode":"NULLABLE"},
               {"name":"events","type":"RECORD","mode":"REPEATED","fields":[
                 {"name":"event_timestamp","type":"INTEGER","mode":"NULLABLE"},
                 {"name":"event_name","type":"STRING","mode":"NULLABLE"},
                 {"name":"event_bundle_sequence_id","type":"INTEGER","mode":"NULLABLE"},
                 {"name":"ga_session_id","type":"INTEGER","mode":"NULLABLE"}]}]},
             "jobReference":{{job}},"totalRows":"1","rows":[{{string.Join(",", rows)}}],
             "totalBytesProcessed":"{{TableBytes}}","jobComplete":true,"cacheHit":false}
            """);
    }

    [Fact]
    public async Task Each_shard_query_filters_its_users_in_sql_and_bigquery_decides_membership()
    {
        using var server = new FakeBigQueryServer(Answer);
        var source = EventSources.Open(Uri, Options(server, maxBytes: 100_000_000));
        var users = new List<string>();
        long rows = 0;
        for (var k = 0; k < 3; k++)
        {
            var table = await source.ReadShardAsync(new UserShard(k, 3));
            Assert.All(table.Users, u => Assert.Equal(k, FakeShardOf(u, 3))); // the server's rule, not XxHash64
            users.AddRange(table.Users);
            rows += table.Count;
            // Each user's events in the order sent (the query sorts within a user).
            Assert.Equal(["session_start", "page_view", "scroll"], table.NameIndex[..3].ToArray().Select(n => table.EventNames[n]));
        }
        Assert.Equal(Table.Select(e => e.User).Distinct().Order(), users.Order());
        Assert.Equal(Table.Length, rows);

        Assert.Equal(3, server.Requests.Count);
        var body = JsonDocument.Parse(server.Requests[1].Body).RootElement;
        var sql = body.GetProperty("query").GetString()!;
        Assert.Contains("ABS(MOD(FARM_FINGERPRINT(user_pseudo_id), @shards)) = @shard", sql);
        Assert.Contains("GROUP BY user_pseudo_id", sql);
        Assert.Matches(@"ARRAY_AGG\(STRUCT\(event_timestamp, event_name, event_bundle_sequence_id, ga_session_id\)\s+ORDER BY", sql);
        // No global ORDER BY: the only sorts are within a user's events and within a row's event_params.
        Assert.Equal(["ORDER BY table_suffix", "ORDER BY position"],
            Regex.Matches(sql, @"ORDER BY \w+").Select(m => m.Value));
        Assert.EndsWith("GROUP BY user_pseudo_id", sql.Trim());
        Assert.DoesNotContain("SELECT *", sql);
        Assert.Equal("100000000", body.GetProperty("maximumBytesBilled").GetString());
        var parameters = body.GetProperty("queryParameters").EnumerateArray().ToDictionary(
            x => x.GetProperty("name").GetString()!, x => (x.GetProperty("parameterType").GetProperty("type").GetString(),
                x.GetProperty("parameterValue").GetProperty("value").GetString()));
        Assert.Equal(("INT64", "3"), parameters["shards"]);
        Assert.Equal(("INT64", "1"), parameters["shard"]);
        Assert.Equal(("STRING", "20210121"), parameters["from"]);
    }

    [Fact]
    public async Task A_dry_run_reports_the_bytes_the_query_would_scan()
    {
        using var server = new FakeBigQueryServer(Answer);
        var source = (BigQueryEventSource)EventSources.Open(Uri, Options(server));

        Assert.Equal(TableBytes, await source.DryRunAsync());
        var body = JsonDocument.Parse(Assert.Single(server.Requests).Body).RootElement;
        Assert.True(body.GetProperty("dryRun").GetBoolean());
        Assert.False(body.TryGetProperty("maximumBytesBilled", out _));
    }

    [Fact]
    public async Task A_query_over_the_bytes_cap_fails_naming_it()
    {
        using var server = new FakeBigQueryServer(Answer);
        var source = EventSources.Open(Uri, Options(server, maxBytes: 1_000));

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => source.ReadShardAsync(new UserShard(0, 2)));

        Assert.Contains("exceeded limit for bytes billed: 1000", error.Message);
        Assert.Single(server.Requests); // not retried
    }

    [Theory]
    [InlineData("invalidQuery", "Syntax error: Unexpected keyword", false)]
    [InlineData("backendError", "Backend error. Job aborted.", true)]
    public async Task Errors_in_a_successful_response_fail_the_read(string reason, string message, bool transient)
    {
        using var server = new FakeBigQueryServer((200, $$"""
            {"kind":"bigquery#queryResponse","jobReference":{"projectId":"my-proj","jobId":"job_1","location":"US"},
             "jobComplete":true,"errors":[{"reason":"{{reason}}","location":"query","message":"{{message}}"}]}
            """));
        var read = TestData.ReadAllAsync(EventSources.Open(Uri, Options(server)));

        var error = transient
            ? (Exception)await Assert.ThrowsAsync<BigQueryUnavailableException>(() => read)
            : await Assert.ThrowsAsync<InvalidInputException>(() => read);
        Assert.Contains(message, error.Message);
    }
}
