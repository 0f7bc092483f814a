using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Bench;

/// <summary>
/// DuckDB running the SQL equivalent of <c>ca prepare</c> with the default options: read the needed columns,
/// extract ga_session_id, drop rows missing a required field, order each session's (or user's) events by
/// event_timestamp, event_bundle_sequence_id (missing first), file, row in file, and build the sequences with a
/// list aggregate; for churn, label users from their first and last engagement (all events), leave out bounced
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
        var validEvents = $"""
            valid AS (
                SELECT user_pseudo_id AS user_id, event_timestamp AS ts, event_bundle_sequence_id AS bundle,
                       event_name AS name, filename AS file, file_row_number AS pos,
                       list_filter(event_params, p -> p.key = 'ga_session_id')[1].value.int_value AS session_id
                FROM read_parquet({Duck.Literal(Duck.ParquetGlob(input))}, filename = true, file_row_number = true)
                WHERE user_pseudo_id <> '' AND event_timestamp IS NOT NULL AND event_name <> '')
            """;
        const string order = "ORDER BY ts, bundle NULLS FIRST, file, pos";
        db.Execute(task switch
        {
            PredictionTask.Events => $"""
                CREATE TABLE sequences AS
                WITH {validEvents}
                SELECT user_id, session_id, list(name {order}) AS names, list(ts {order}) AS timestamps
                FROM valid WHERE session_id IS NOT NULL
                GROUP BY user_id, session_id HAVING count(*) >= 2
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
                    FROM (SELECT user_id, min(ts) AS first_ts, max(ts) AS last_ts FROM kept GROUP BY user_id), data_end)
                SELECT k.user_id, u.label = 'churned' AS churned,
                       list(k.name {order}) AS names, list(k.ts {order}) AS timestamps
                FROM kept k JOIN users u USING (user_id)
                WHERE u.label IN ('churned', 'returned') AND k.ts < u.first_ts + {horizon}
                GROUP BY k.user_id, u.label
                """,
            _ => throw new ArgumentException($"unknown task {task}"),
        });
        return db.Scalar<long>("SELECT count(*) FROM sequences");
    }
}
