using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Bench;

/// <summary>
/// DuckDB running the SQL equivalent of <c>ca prepare</c> with the default options: read the needed columns,
/// extract ga_session_id, drop rows missing a required field, order each session's (or user's) events by
/// event_timestamp, event_bundle_sequence_id (missing first), file, row in file, and build the sequences with a
/// list aggregate (an unordered list of (ts, bundle, file, row, name) structs, then list_sort: DuckDB's ordered
/// aggregate keeps a sort state per group and ran out of 19 GB on 900k sessions); for churn, label users from their first and last engagement (all events), leave out bounced
/// and censored users, and keep events before first engagement + horizon. The result is materialised as a table.
/// </summary>
internal static class DuckDbSide
{
    public static long Run(string input, PredictionTask task)
    {
        var options = PrepareOptions.Default;
        var horizon = (long)(options.ChurnHorizonHours * 3_600_000_000);
        var bounce = (long)(options.BounceMinutes * 60_000_000);
        using var db = Duck.Open();
        var glob = Duck.Literal(Duck.ParquetGlob(input));
        // Files are numbered in path order (cheap: glob lists names only) so the sort key holds no strings.
        var validEvents = $"""
            files AS (SELECT file, row_number() OVER (ORDER BY file) AS file_index FROM glob({glob})),
            valid AS (
                SELECT user_pseudo_id AS user_id, event_timestamp AS ts,
                       coalesce(event_bundle_sequence_id, -9223372036854775808) AS bundle,
                       event_name AS name, files.file_index, file_row_number AS pos,
                       list_filter(event_params, p -> p.key = 'ga_session_id')[1].value.int_value AS session_id
                FROM read_parquet({glob}, filename = true, file_row_number = true) JOIN files ON filename = files.file
                WHERE user_pseudo_id <> '' AND event_timestamp IS NOT NULL AND event_name <> '')
            """;
        // The product's event order: timestamp, bundle id (missing first), file, row in file.
        const string sortedEvents = "list_sort(list(struct_pack(ts := ts, bundle := bundle, f := file_index, pos := pos, name := name)))";
        const string names = "list_transform(events, e -> e.name) AS names, list_transform(events, e -> e.ts) AS timestamps";
        db.Execute(task switch
        {
            PredictionTask.Events => $"""
                CREATE TABLE sequences AS
                WITH {validEvents},
                sessions AS (SELECT user_id, session_id, {sortedEvents} AS events
                             FROM valid WHERE session_id IS NOT NULL
                             GROUP BY user_id, session_id HAVING count(*) >= 2)
                SELECT user_id, session_id, {names} FROM sessions
                """,
            PredictionTask.Churn => $"""
                CREATE TABLE sequences AS
                WITH {validEvents},
                kept AS (SELECT * FROM valid WHERE session_id IS NOT NULL),
                data_end AS (SELECT max(ts) AS end_ts FROM kept),
                users AS (
                    SELECT user_id, first_ts,
                           CASE WHEN first_ts > end_ts - {horizon} THEN 'censored'
                                WHEN last_ts - first_ts <= {bounce} THEN 'bounced'
                                WHEN last_ts < first_ts + {horizon} THEN 'churned'
                                ELSE 'returned' END AS label
                    FROM (SELECT user_id, min(ts) AS first_ts, max(ts) AS last_ts FROM kept GROUP BY user_id), data_end),
                user_windows AS (
                    SELECT k.user_id, u.label = 'churned' AS churned, {sortedEvents} AS events
                    FROM kept k JOIN users u USING (user_id)
                    WHERE u.label IN ('churned', 'returned') AND k.ts < u.first_ts + {horizon}
                    GROUP BY k.user_id, u.label)
                SELECT user_id, churned, {names} FROM user_windows
                """,
            _ => throw new ArgumentException($"unknown task {task}"),
        });
        return db.Scalar<long>("SELECT count(*) FROM sequences");
    }
}
