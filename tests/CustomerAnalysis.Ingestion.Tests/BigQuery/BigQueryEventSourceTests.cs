using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.BigQuery;

namespace CustomerAnalysis.Ingestion.Tests.BigQuery;

public class BigQueryEventSourceTests
{
    private const string Uri =
        "bq://bigquery-public-data.ga4_obfuscated_sample_ecommerce.events_*?from=20210121&to=20210129&billing_project=my-billing-proj";

    private sealed class FixedToken : IAccessTokenProvider
    {
        public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken) => Task.FromResult("test-token");
    }

    private static EventSourceOptions Options(FakeBigQueryServer server) => new()
    {
        BigQueryBaseUrl = server.BaseUrl,
        BigQueryAccessTokens = new FixedToken(),
        BigQueryRetryDelay = TimeSpan.FromMilliseconds(1),
        BigQueryPollInterval = TimeSpan.FromMilliseconds(1),
        BigQueryMaxAttempts = 3,
        BigQueryPageSize = 2,
    };

    private const string Schema = """
        {"fields":[
          {"name":"user_pseudo_id","type":"STRING","mode":"NULLABLE"},
          {"name":"event_timestamp","type":"INTEGER","mode":"NULLABLE"},
          {"name":"event_name","type":"STRING","mode":"NULLABLE"},
          {"name":"event_bundle_sequence_id","type":"INTEGER","mode":"NULLABLE"},
          {"name":"ga_session_id","type":"INTEGER","mode":"NULLABLE"}]}
        """;

    private const string JobReference = """{"projectId":"my-billing-proj","jobId":"job_Abc123","location":"US"}""";

    private static string Row(string user, long timestamp, string name, long? bundle, long? session) =>
        $$"""{"f":[{"v":"{{user}}"},{"v":"{{timestamp}}"},{"v":"{{name}}"},{"v":{{Json(bundle)}}},{"v":{{Json(session)}}}]}""";

    private static string Json(long? value) => value is null ? "null" : $"\"{value}\"";

    private static (int, string) Page(string? pageToken, params string[] rows) => (200, $$"""
        {"kind":"bigquery#getQueryResultsResponse","etag":"x","schema":{{Schema}},"jobReference":{{JobReference}},
         "totalRows":"3",{{(pageToken is null ? "" : $"\"pageToken\":\"{pageToken}\",")}}
         "rows":[{{string.Join(",", rows)}}],"totalBytesProcessed":"1234","jobComplete":true,"cacheHit":false}
        """);

    private static readonly (int, string) Incomplete = (200, $$"""
        {"kind":"bigquery#queryResponse","jobReference":{{JobReference}},"jobComplete":false}
        """);

    [Fact]
    public async Task An_incomplete_job_is_polled_and_every_page_is_read()
    {
        using var server = new FakeBigQueryServer(
            Incomplete,
            Incomplete with { Item2 = Incomplete.Item2.Replace("queryResponse", "getQueryResultsResponse") },
            Page("page+2/token=", Row("u1", 100, "page_view", 7, 55), Row("u2", 101, "scroll", null, 56)),
            Page(null, Row("u1", 102, "purchase", -9, null)));

        var table = await EventSources.Open(Uri, Options(server)).ReadTableAsync();

        Assert.Equal(3, table.Report.RowsRead);
        Assert.Equal(2, table.Count);
        Assert.Equal(["u1", "u2"], table.Users);
        Assert.Equal([100L, 101L], table.Timestamp.ToArray());
        Assert.Equal([7L, EventTable.NoBundleSequenceId], table.BundleSequenceId.ToArray());
        Assert.Equal([55L, 56L], table.GaSessionId.ToArray());
        Assert.Equal(new RejectedRow(Uri[..Uri.IndexOf("&billing", StringComparison.Ordinal)], 3, RejectReason.MissingGaSessionId),
            Assert.Single(table.Report.FirstRejected));

        Assert.Equal(4, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal("Bearer test-token", r.Authorization));
        var query = server.Requests[0];
        Assert.Equal(("POST", "/bigquery/v2/projects/my-billing-proj/queries"), (query.Method, query.Path));
        var body = JsonDocument.Parse(query.Body).RootElement;
        Assert.False(body.GetProperty("useLegacySql").GetBoolean());
        var sql = body.GetProperty("query").GetString()!;
        Assert.Contains("FROM `bigquery-public-data.ga4_obfuscated_sample_ecommerce.events_*`", sql);
        Assert.Contains("_TABLE_SUFFIX BETWEEN @from AND @to", sql);
        Assert.Contains("UNNEST(event_params)", sql);
        Assert.DoesNotContain("SELECT *", sql);
        Assert.Equal("NAMED", body.GetProperty("parameterMode").GetString());
        var parameters = body.GetProperty("queryParameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("parameterValue").GetProperty("value").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["from"] = "20210121", ["to"] = "20210129" }, parameters);

        Assert.All(server.Requests.Skip(1), r =>
        {
            Assert.Equal(("GET", "/bigquery/v2/projects/my-billing-proj/queries/job_Abc123"), (r.Method, r.Path));
            Assert.Equal("US", r.Query["location"]);
        });
        Assert.False(server.Requests[1].Query.ContainsKey("pageToken"));
        Assert.False(server.Requests[2].Query.ContainsKey("pageToken"));
        Assert.Equal("page+2/token=", server.Requests[3].Query["pageToken"]);
    }

    [Fact]
    public async Task A_job_that_never_completes_is_given_up()
    {
        using var server = new FakeBigQueryServer(Enumerable.Repeat(Incomplete, 50).ToArray());
        var options = Options(server) with
        {
            BigQueryPollInterval = TimeSpan.FromMilliseconds(20),
            BigQueryJobTimeout = TimeSpan.FromMilliseconds(100),
        };

        var error = await Assert.ThrowsAsync<BigQueryUnavailableException>(
            () => TestData.ReadAllAsync(EventSources.Open(Uri, options)));

        Assert.Contains("job_Abc123 did not complete", error.Message);
        Assert.InRange(server.Requests.Count, 2, 20);
    }

    [Fact]
    public async Task A_server_error_is_retried()
    {
        using var server = new FakeBigQueryServer(
            (500, """{"error":{"code":500,"message":"Backend error","status":"INTERNAL"}}"""),
            (503, "<html>Service Unavailable</html>"),
            Page(null, Row("u1", 100, "page_view", 7, 55)));

        var rows = await TestData.ReadAllAsync(EventSources.Open(Uri, Options(server)));

        Assert.Equal("u1", Assert.Single(rows).UserPseudoId);
        Assert.Equal(3, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal("POST", r.Method));
    }

    [Fact]
    public async Task Retries_stop_after_the_allowed_attempts()
    {
        var tooMany = (429, """{"error":{"code":429,"message":"Exceeded rate limits: too many api requests per user per method","status":"RESOURCE_EXHAUSTED"}}""");
        using var server = new FakeBigQueryServer(tooMany, tooMany, tooMany, Page(null));

        var error = await Assert.ThrowsAsync<BigQueryUnavailableException>(
            () => TestData.ReadAllAsync(EventSources.Open(Uri, Options(server))));

        Assert.Contains("failed 3 times", error.Message);
        Assert.Contains("Exceeded rate limits", error.Message);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task A_rejected_query_surfaces_bigquerys_message_without_retrying()
    {
        using var server = new FakeBigQueryServer((400, """
            {"error":{"code":400,"message":"Unrecognized name: user_pseudo_idd at [1:8]",
              "errors":[{"message":"Unrecognized name: user_pseudo_idd at [1:8]","domain":"global","reason":"invalidQuery","location":"q","locationType":"parameter"}],
              "status":"INVALID_ARGUMENT"}}
            """));

        var error = await Assert.ThrowsAsync<InvalidInputException>(
            () => TestData.ReadAllAsync(EventSources.Open(Uri, Options(server))));

        Assert.Contains("(400): Unrecognized name: user_pseudo_idd at [1:8]", error.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task A_missing_job_while_paging_surfaces_bigquerys_message()
    {
        using var server = new FakeBigQueryServer(
            Page("next"),
            (404, """{"error":{"code":404,"message":"Not found: Job my-billing-proj:US.job_Abc123","status":"NOT_FOUND"}}"""));

        var error = await Assert.ThrowsAsync<InvalidInputException>(
            () => TestData.ReadAllAsync(EventSources.Open(Uri, Options(server))));

        Assert.Contains("(404): Not found: Job my-billing-proj:US.job_Abc123", error.Message);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task A_single_table_is_queried_without_suffix_bounds_in_the_tables_project()
    {
        using var server = new FakeBigQueryServer(Page(null, Row("u1", 100, "page_view", 7, 55)));

        var rows = await TestData.ReadAllAsync(EventSources.Open("bq://my-project.analytics_123.events_20210121", Options(server)));

        Assert.Single(rows);
        Assert.Equal("/bigquery/v2/projects/my-project/queries", server.Requests[0].Path);
        var body = JsonDocument.Parse(server.Requests[0].Body).RootElement;
        Assert.DoesNotContain("_TABLE_SUFFIX", body.GetProperty("query").GetString());
        Assert.False(body.TryGetProperty("queryParameters", out _));
    }
}
