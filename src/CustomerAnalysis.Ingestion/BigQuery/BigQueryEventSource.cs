using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.BigQuery;

/// <summary>
/// Reads GA4 events straight from BigQuery: one standard-SQL query selecting only the needed columns
/// (jobs.query), then result pages (jobs.getQueryResults with pageToken) until there are no more.
/// A job that is not complete yet is polled. Memory holds one page at a time.
/// </summary>
public sealed class BigQueryEventSource(BigQueryTableRange range, EventSourceOptions options) : IEventSource
{
    public BigQueryTableRange Range { get; } = range;
    public string Description => Range.ToString();

    /// <summary>
    /// The query. The session id is the int_value of the first <c>ga_session_id</c> entry of <c>event_params</c>, as the
    /// file readers take it. BigQuery has no row order of its own, so rows are ordered by table suffix (day), then the
    /// product's event order, then user and name: reads of the same data give the same source order.
    /// </summary>
    public string Sql =>
        $"""
        SELECT user_pseudo_id, event_timestamp, event_name, event_bundle_sequence_id,
          (SELECT p.value.int_value FROM UNNEST(event_params) AS p WITH OFFSET AS position
           WHERE p.key = 'ga_session_id' AND p.value.int_value IS NOT NULL
           ORDER BY position LIMIT 1) AS ga_session_id
        FROM `{Range.TableId}`
        {(Range.IsWildcard ? "WHERE _TABLE_SUFFIX BETWEEN @from AND @to" : "")}
        ORDER BY {(Range.IsWildcard ? "_TABLE_SUFFIX, " : "")}event_timestamp, event_bundle_sequence_id, user_pseudo_id, event_name
        """;

    public async IAsyncEnumerable<SourceRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var client = new BigQueryRestClient(http, options, options.BigQueryAccessTokens ?? new GoogleAccessTokenProvider(options.BigQueryOnGoogleCloud));
        var project = Range.BillingProject ?? options.BigQueryBillingProject ?? Range.Project;
        var strings = new StringPool();
        long rowNumber = 0;
        System.Diagnostics.Stopwatch? incompleteFor = null;

        var page = await client.QueryAsync(project, QueryRequest(), cancellationToken).ConfigureAwait(false);
        while (true)
        {
            QueryPage parsed;
            using (page)
                parsed = QueryPage.Read(page.RootElement, strings, Description, ref rowNumber);
            foreach (var row in parsed.Rows) yield return row;

            if (!parsed.JobComplete)
            {
                incompleteFor ??= System.Diagnostics.Stopwatch.StartNew();
                if (incompleteFor.Elapsed > options.BigQueryJobTimeout)
                    throw new BigQueryUnavailableException(
                        $"BigQuery job {parsed.Job?.JobId} did not complete within {options.BigQueryJobTimeout}");
                await Task.Delay(options.BigQueryPollInterval, cancellationToken).ConfigureAwait(false);
            }
            else if (parsed.PageToken is null)
                yield break;
            var job = parsed.Job ?? throw new InvalidDataException("BigQuery response has no jobReference to fetch more results with");
            page = await client.GetQueryResultsAsync(job.ProjectId, job.JobId, job.Location ?? Range.Location,
                parsed.JobComplete ? parsed.PageToken : null, options.BigQueryPageSize, cancellationToken).ConfigureAwait(false);
        }
    }

    private JsonObject QueryRequest()
    {
        var request = new JsonObject
        {
            ["query"] = Sql,
            ["useLegacySql"] = false,
            ["maxResults"] = options.BigQueryPageSize,
            ["timeoutMs"] = 10_000,
        };
        if (Range.Location is not null) request["location"] = Range.Location;
        if (Range.IsWildcard)
        {
            request["parameterMode"] = "NAMED";
            request["queryParameters"] = new JsonArray(StringParameter("from", Range.FromSuffix!), StringParameter("to", Range.ToSuffix!));
        }
        return request;
    }

    private static JsonObject StringParameter(string name, string value) => new()
    {
        ["name"] = name,
        ["parameterType"] = new JsonObject { ["type"] = "STRING" },
        ["parameterValue"] = new JsonObject { ["value"] = value },
    };

    private sealed record JobReference(string ProjectId, string JobId, string? Location);

    /// <summary>The parts of a QueryResponse / GetQueryResultsResponse the reader uses.</summary>
    private sealed record QueryPage(bool JobComplete, JobReference? Job, string? PageToken, List<SourceRow> Rows)
    {
        public static QueryPage Read(JsonElement response, StringPool strings, string source, ref long rowNumber)
        {
            var complete = !response.TryGetProperty("jobComplete", out var done) || done.ValueKind != JsonValueKind.False;
            JobReference? job = null;
            if (response.TryGetProperty("jobReference", out var reference) && reference.ValueKind == JsonValueKind.Object)
                job = new JobReference(
                    reference.GetProperty("projectId").GetString()!,
                    reference.GetProperty("jobId").GetString()!,
                    reference.TryGetProperty("location", out var location) ? location.GetString() : null);
            var pageToken = response.TryGetProperty("pageToken", out var token) && token.ValueKind == JsonValueKind.String
                ? token.GetString()
                : null;

            var rows = new List<SourceRow>();
            if (complete && response.TryGetProperty("rows", out var rowArray) && rowArray.ValueKind == JsonValueKind.Array)
            {
                var schema = BigQueryField.ParseSchema(response.GetProperty("schema"));
                foreach (var rowJson in rowArray.EnumerateArray())
                {
                    var row = BigQueryRowDecoder.DecodeRow(rowJson, schema);
                    rows.Add(new SourceRow(
                        Pooled(row["user_pseudo_id"] as string, strings),
                        row["event_timestamp"] as long?,
                        Pooled(row["event_name"] as string, strings),
                        row["ga_session_id"] as long?,
                        row["event_bundle_sequence_id"] as long?,
                        source,
                        ++rowNumber));
                }
            }
            return new QueryPage(complete, job, pageToken, rows);
        }

        private static string? Pooled(string? text, StringPool strings) => text is null ? null : strings.Get(text);
    }
}
