using System.Globalization;
using CustomerAnalysis.Core;
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
/// <remarks>
/// A shard (<see cref="ForShard"/>) is cut server side: its query keeps the users with
/// <c>ABS(MOD(FARM_FINGERPRINT(user_pseudo_id), N)) = k</c> (rows without a user in shard 0) and returns one row per
/// user, their events in an array sorted within the user — no global <c>ORDER BY</c>, which BigQuery runs on one
/// worker. So for <c>bq://</c> sources BigQuery's FarmHash decides shard membership, not
/// <see cref="UserShard"/>'s XxHash64: shard k of a BigQuery read and shard k of the same data as files hold
/// different users, and each is still a partition of the users. (<c>MOD</c> before <c>ABS</c>: <c>ABS</c> of the
/// smallest INT64 fingerprint overflows.)
/// </remarks>
public sealed class BigQueryEventSource(BigQueryTableRange range, EventSourceOptions options, UserShard? shard = null)
    : IEventSource, IShardableEventSource
{
    public BigQueryTableRange Range { get; } = range;
    public string Description => Shard is { } s ? $"{Range} (shard {s})" : Range.ToString();

    /// <summary>The users this source reads; null for all (the flat, globally ordered query).</summary>
    public UserShard? Shard { get; } = shard is { IsWhole: true } ? null : shard;

    public IEventSource ForShard(UserShard shard) => new BigQueryEventSource(Range, options, shard);

    /// <summary>The extra fields the query selects (<see cref="EventSourceOptions.Signals"/>): only those.</summary>
    public SignalSet Signals => options.Signals;

    /// <summary>", expr AS name" per configured signal, for the SELECT list (empty without signals).</summary>
    private string SignalSelect => string.Concat(Signals.Fields.Select(f => $",\n    {SignalExpression(f)} AS {Core.Events.Signals.Name(f)}"));

    /// <summary>", name" per configured signal, for the shard query's STRUCT.</summary>
    private string SignalNames => string.Concat(Signals.Fields.Select(f => $", {Core.Events.Signals.Name(f)}"));

    /// <summary>The SQL for one signal: a column, the first event param with the key (string_value for categorical
    /// fields, int_value for numeric ones, as the file readers take them), or the first item category.</summary>
    internal static string SignalExpression(SignalField field)
    {
        if (Core.Events.Signals.ColumnPath(field) is { } column) return column;
        if (field == SignalField.ItemCategory)
            return "(SELECT i.item_category FROM UNNEST(items) AS i WITH OFFSET AS position WHERE i.item_category IS NOT NULL ORDER BY position LIMIT 1)";
        var value = Core.Events.Signals.KindOf(field) == SignalKind.Categorical ? "string_value" : "int_value";
        return $"(SELECT p.value.{value} FROM UNNEST(event_params) AS p WITH OFFSET AS position " +
               $"WHERE p.key = '{Core.Events.Signals.ParamKey(field)}' ORDER BY position LIMIT 1)";
    }

    /// <summary>The sharded query: the shard's users, one row per user, only the needed columns, each user's events
    /// sorted by table suffix, then the product's event order, then name (deterministic source order within a user,
    /// which is the only order preparation uses).</summary>
    public string ShardSql =>
        $"""
        SELECT user_pseudo_id,
          ARRAY_AGG(STRUCT(event_timestamp, event_name, event_bundle_sequence_id, ga_session_id{SignalNames})
            ORDER BY table_suffix, event_timestamp, event_bundle_sequence_id, event_name) AS events
        FROM (
          SELECT user_pseudo_id, event_timestamp, event_name, event_bundle_sequence_id,
            {(Range.IsWildcard ? "_TABLE_SUFFIX" : "''")} AS table_suffix,
            (SELECT p.value.int_value FROM UNNEST(event_params) AS p WITH OFFSET AS position
             WHERE p.key = 'ga_session_id' AND p.value.int_value IS NOT NULL
             ORDER BY position LIMIT 1) AS ga_session_id{SignalSelect}
          FROM `{Range.TableId}`
          WHERE {(Range.IsWildcard ? "_TABLE_SUFFIX BETWEEN @from AND @to AND " : "")}(ABS(MOD(FARM_FINGERPRINT(user_pseudo_id), @shards)) = @shard
            OR (user_pseudo_id IS NULL AND @shard = 0))
        )
        GROUP BY user_pseudo_id
        """;

    /// <summary>A dry run of the query this source would run (<c>dryRun</c>: BigQuery validates it and reports what it
    /// would scan, without running or billing it). Returns <c>totalBytesProcessed</c>.</summary>
    public async Task<long> DryRunAsync(CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var client = new BigQueryRestClient(http, options, options.BigQueryAccessTokens ?? new GoogleAccessTokenProvider(options.BigQueryOnGoogleCloud));
        var request = QueryRequest();
        request["dryRun"] = true;
        using var response = await client.QueryAsync(BillingProject, request, cancellationToken).ConfigureAwait(false);
        ThrowOnErrors(response.RootElement, Description);
        return response.RootElement.TryGetProperty("totalBytesProcessed", out var bytes)
               && long.TryParse(bytes.GetString(), out var total)
            ? total
            : throw new InvalidDataException("BigQuery's dry run answered without totalBytesProcessed");
    }

    private string BillingProject => Range.BillingProject ?? options.BigQueryBillingProject ?? Range.Project;

    /// <summary>A successful (HTTP 200) response may still carry the job's <c>errors</c>; like Google's clients, a read
    /// fails on them. Bad queries and exceeded byte caps are the user's to fix (<see cref="InvalidInputException"/>);
    /// BigQuery's own failures are transient (<see cref="BigQueryUnavailableException"/>).</summary>
    internal static void ThrowOnErrors(JsonElement response, string source)
    {
        if (!response.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Array
            || errors.GetArrayLength() == 0)
            return;
        var reasons = new List<string>();
        var messages = new List<string>();
        foreach (var error in errors.EnumerateArray())
        {
            if (error.TryGetProperty("reason", out var reason) && reason.GetString() is { } r) reasons.Add(r);
            if (error.TryGetProperty("message", out var message) && message.GetString() is { } m) messages.Add(m);
        }
        var text = $"BigQuery job for {source} failed: {string.Join("; ", messages.Count > 0 ? messages : reasons)}";
        if (reasons.Count > 0 && reasons.All(r => r is "backendError" or "internalError" or "rateLimitExceeded"))
            throw new BigQueryUnavailableException(text);
        throw new InvalidInputException(text);
    }

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
           ORDER BY position LIMIT 1) AS ga_session_id{SignalSelect}
        FROM `{Range.TableId}`
        {(Range.IsWildcard ? "WHERE _TABLE_SUFFIX BETWEEN @from AND @to" : "")}
        ORDER BY {(Range.IsWildcard ? "_TABLE_SUFFIX, " : "")}event_timestamp, event_bundle_sequence_id, user_pseudo_id, event_name
        """;

    public async IAsyncEnumerable<SourceRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var client = new BigQueryRestClient(http, options, options.BigQueryAccessTokens ?? new GoogleAccessTokenProvider(options.BigQueryOnGoogleCloud));
        var project = BillingProject;
        var strings = new StringPool();
        long rowNumber = 0;
        System.Diagnostics.Stopwatch? incompleteFor = null;

        var page = await client.QueryAsync(project, QueryRequest(), cancellationToken).ConfigureAwait(false);
        while (true)
        {
            QueryPage parsed;
            using (page)
            {
                ThrowOnErrors(page.RootElement, Description);
                parsed = QueryPage.Read(page.RootElement, strings, Description, ref rowNumber, Signals);
            }
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
            ["query"] = Shard is null ? Sql : ShardSql,
            ["useLegacySql"] = false,
            ["maxResults"] = options.BigQueryPageSize,
            ["timeoutMs"] = 10_000,
        };
        if (Range.Location is not null) request["location"] = Range.Location;
        // An int64 is a JSON string in the REST API.
        if (options.BigQueryMaximumBytesBilled is { } maxBytes) request["maximumBytesBilled"] = maxBytes.ToString(CultureInfo.InvariantCulture);
        var parameters = new JsonArray();
        if (Range.IsWildcard)
        {
            parameters.Add(StringParameter("from", Range.FromSuffix!));
            parameters.Add(StringParameter("to", Range.ToSuffix!));
        }
        if (Shard is { } s)
        {
            parameters.Add(Int64Parameter("shards", s.Count));
            parameters.Add(Int64Parameter("shard", s.Index));
        }
        if (parameters.Count > 0)
        {
            request["parameterMode"] = "NAMED";
            request["queryParameters"] = parameters;
        }
        return request;
    }

    private static JsonObject StringParameter(string name, string value) => new()
    {
        ["name"] = name,
        ["parameterType"] = new JsonObject { ["type"] = "STRING" },
        ["parameterValue"] = new JsonObject { ["value"] = value },
    };

    private static JsonObject Int64Parameter(string name, long value) => new()
    {
        ["name"] = name,
        ["parameterType"] = new JsonObject { ["type"] = "INT64" },
        ["parameterValue"] = new JsonObject { ["value"] = value.ToString(CultureInfo.InvariantCulture) },
    };

    private sealed record JobReference(string ProjectId, string JobId, string? Location);

    /// <summary>The parts of a QueryResponse / GetQueryResultsResponse the reader uses.</summary>
    private sealed record QueryPage(bool JobComplete, JobReference? Job, string? PageToken, List<SourceRow> Rows)
    {
        public static QueryPage Read(JsonElement response, StringPool strings, string source, ref long rowNumber,
            SignalSet? signals = null)
        {
            signals ??= SignalSet.None;
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
                    if (schema.Any(f => f.Name == "events"))
                    {
                        // A shard query's row: one user, their events in order.
                        var user = Pooled(row["user_pseudo_id"] as string, strings);
                        foreach (var item in row["events"] as IReadOnlyList<object?> ?? [])
                        {
                            var e = (BigQueryRecord)item!;
                            rows.Add(new SourceRow(user, e["event_timestamp"] as long?, Pooled(e["event_name"] as string, strings),
                                e["ga_session_id"] as long?, e["event_bundle_sequence_id"] as long?, source, ++rowNumber,
                                SignalsOf(e, signals, strings)));
                        }
                        continue;
                    }
                    rows.Add(new SourceRow(
                        Pooled(row["user_pseudo_id"] as string, strings),
                        row["event_timestamp"] as long?,
                        Pooled(row["event_name"] as string, strings),
                        row["ga_session_id"] as long?,
                        row["event_bundle_sequence_id"] as long?,
                        source,
                        ++rowNumber,
                        SignalsOf(row, signals, strings)));
                }
            }
            return new QueryPage(complete, job, pageToken, rows);
        }

        private static string? Pooled(string? text, StringPool strings) => text is null ? null : strings.Get(text);

        /// <summary>The signal columns of a result row, by their aliases (null where BigQuery sent NULL).</summary>
        private static SignalRow? SignalsOf(BigQueryRecord record, SignalSet signals, StringPool strings)
        {
            if (signals.IsEmpty) return null;
            var categorical = signals.Categorical.Select(f => Text(record[Core.Events.Signals.Name(f)], strings)).ToArray();
            var numeric = signals.Numeric.Select(f => record[Core.Events.Signals.Name(f)] switch
            {
                long l => (double?)l,
                double d => d,
                string t when double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
                _ => null,
            }).ToArray();
            return new SignalRow(categorical, numeric);
        }

        private static string? Text(object? value, StringPool strings) => value switch
        {
            null => null,
            string s => strings.Get(s),
            IFormattable f => strings.Get(f.ToString(null, CultureInfo.InvariantCulture)),
            var other => strings.Get(other.ToString() ?? ""),
        };
    }
}
