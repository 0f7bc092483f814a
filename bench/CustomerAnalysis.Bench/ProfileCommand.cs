using System.Text.Json;
using CustomerAnalysis.Ingestion.Synthetic;
using DuckDB.NET.Data;

namespace CustomerAnalysis.Bench;

/// <summary>
/// <c>bench profile --data &lt;folder&gt; [--out &lt;file&gt;]</c>: derives <see cref="Ga4Profile"/> from the real GA4
/// Parquet tables with DuckDB SQL. Run once; the result is committed as
/// <c>src/CustomerAnalysis.Ingestion/Synthetic/ga4-profile.json</c>.
/// </summary>
internal static class ProfileCommand
{
    private const int KeptCategories = 8;

    public static int Run(string dataFolder, string outputPath)
    {
        var glob = Duck.ParquetGlob(dataFolder);
        using var db = Duck.Open();
        LoadEvents(db, glob);
        var profile = BuildProfile(db, Path.GetFileName(Path.GetDirectoryName(glob)!));
        var json = CollapseLeaves(JsonSerializer.Serialize(profile, Ga4Profile.JsonOptions));
        File.WriteAllText(outputPath, json + "\n");
        Console.WriteLine($"profile of {profile.Events:N0} events, {profile.Users:N0} users, {profile.Sessions:N0} sessions " +
                          $"→ {outputPath} ({json.Length:N0} chars)");
        return 0;
    }

    /// <summary>One row per event with the columns the profile needs; the session key is (user, ga_session_id).</summary>
    private static void LoadEvents(DuckDBConnection db, string glob)
    {
        db.Execute($"""
            CREATE TABLE ev AS
            SELECT filename AS file, file_row_number AS pos, event_date, user_pseudo_id AS user_id,
                   event_timestamp AS ts, event_bundle_sequence_id AS bundle, event_name AS name,
                   list_filter(event_params, p -> p.key = 'ga_session_id')[1].value.int_value AS session_id,
                   list_filter(event_params, p -> p.key = 'ga_session_number')[1].value.int_value AS session_number,
                   len(list_filter(event_params, p -> p.key = 'engagement_time_msec')) > 0 AS has_engagement_time,
                   len(items) AS item_count,
                   name IN ('session_start', 'first_visit') AS is_opening,
                   device.category AS device_category, device.operating_system AS operating_system,
                   device.web_info.browser AS browser, geo.country AS country,
                   traffic_source.medium AS medium, traffic_source.name AS source_name, traffic_source.source AS source
            FROM read_parquet({Duck.Literal(glob)}, filename = true, file_row_number = true)
            WHERE user_pseudo_id IS NOT NULL AND event_timestamp IS NOT NULL
            """);
        db.Execute("DELETE FROM ev WHERE session_id IS NULL");
        db.Execute("""
            CREATE TABLE sessions AS
            SELECT user_id, session_id, min(ts) AS start_ts, count(*) AS events,
                   count(*) FILTER (WHERE NOT is_opening) AS content_events,
                   count(*) FILTER (WHERE name = 'session_start') AS session_starts,
                   count(*) FILTER (WHERE name = 'first_visit') AS first_visits,
                   min(ts) FILTER (WHERE name = 'session_start') AS session_start_ts,
                   min(session_number) AS session_number
            FROM ev GROUP BY user_id, session_id
            """);
        // Content events in the product's order: timestamp, bundle id, then position in the export.
        db.Execute("""
            CREATE TABLE content AS
            SELECT user_id, session_id, name, ts,
                   lag(name) OVER w AS prev_name, lag(ts) OVER w AS prev_ts, lead(name) OVER w AS next_name,
                   row_number() OVER w AS k
            FROM ev WHERE NOT is_opening
            WINDOW w AS (PARTITION BY user_id, session_id ORDER BY ts, bundle, file, pos)
            """);
        db.Execute("""
            CREATE TABLE user_sessions AS
            SELECT user_id, start_ts, session_number,
                   row_number() OVER w AS k, lead(start_ts) OVER w AS next_start
            FROM sessions
            WINDOW w AS (PARTITION BY user_id ORDER BY start_ts, session_id)
            """);
    }

    private static Ga4Profile BuildProfile(DuckDBConnection db, string sourceName)
    {
        var daily = db.Query("""
            SELECT event_date, count(DISTINCT user_id), count(DISTINCT user_id) FILTER (WHERE name = 'first_visit')
            FROM ev GROUP BY event_date ORDER BY event_date
            """, r => (Date: r.GetString(0), Active: Convert.ToInt32(r.GetValue(1)), New: Convert.ToInt32(r.GetValue(2))));

        var hours = new double[24];
        foreach (var (hour, count) in db.Query("SELECT (start_ts // 3600000000) % 24, count(*) FROM sessions GROUP BY 1",
                     r => (Convert.ToInt32(r.GetValue(0)), Convert.ToDouble(r.GetValue(1)))))
            hours[hour] = count;
        Normalise(hours);

        var returnByIndex = db.Query("""
            SELECT least(k, 5), avg((next_start IS NOT NULL)::DOUBLE) FROM user_sessions GROUP BY 1 ORDER BY 1
            """, r => Convert.ToDouble(r.GetValue(1)));
        var sessionsPerUser = db.Query("""
            SELECT least(n, 6), count(*) FROM (SELECT count(*) AS n FROM sessions GROUP BY user_id) GROUP BY 1 ORDER BY 1
            """, r => Convert.ToDouble(r.GetValue(1))).ToArray();
        Normalise(sessionsPerUser);

        var firstSeenSessionNumbers = db.Query("SELECT session_number FROM user_sessions WHERE k = 1",
            r => Convert.ToDouble(r.GetValue(0)));
        var existing = firstSeenSessionNumbers.Where(n => n > 1).ToList();

        return new Ga4Profile
        {
            Source = $"{sourceName}: {daily.Count} daily GA4 tables {daily[0].Date}..{daily[^1].Date} " +
                     "(Google Merchandise Store obfuscated sample), profiled by `bench profile` with DuckDB",
            Events = db.Scalar<long>("SELECT count(*) FROM ev"),
            Users = db.Scalar<long>("SELECT count(DISTINCT user_id) FROM ev"),
            Sessions = db.Scalar<long>("SELECT count(*) FROM sessions"),
            DailyActiveUsers = daily.Select(d => d.Active).ToArray(),
            DailyNewUsers = daily.Select(d => d.New).ToArray(),
            SessionStartHourUtc = hours.Select(Round).ToArray(),
            PSessionStart = Round(db.Scalar<double>("SELECT avg((session_starts > 0)::DOUBLE) FROM sessions")),
            PFirstVisitInFirstSession = Round(db.Scalar<double>(
                "SELECT avg((first_visits > 0)::DOUBLE) FROM sessions WHERE session_number = 1")),
            PExistingUserAtFirstSight = Round((double)existing.Count / firstSeenSessionNumbers.Count),
            ExistingUserSessionNumber = Histogram(existing, [(2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 100)]),
            ContentEventsPerSession = Histogram(
                db.Query("SELECT content_events FROM sessions", r => Convert.ToDouble(r.GetValue(0))),
                [.. Enumerable.Range(0, 21).Select(i => ((double)i, (double)i)),
                 (21, 25), (26, 30), (31, 40), (41, 50), (51, 75), (76, 100), (101, 150), (151, 200), (201, 300), (301, 500)]),
            SessionLengthQuantiles = db.Query(
                "SELECT unnest(quantile_cont(events, [0.1, 0.25, 0.5, 0.75, 0.9, 0.99])) FROM sessions",
                r => Round(Convert.ToDouble(r.GetValue(0)))).ToArray(),
            Transitions = Transitions(db),
            FractionEventsInTimestampTies = Round(db.Scalar<double>("""
                SELECT sum(n) FILTER (WHERE n > 1) / sum(n)
                FROM (SELECT count(*) AS n FROM ev GROUP BY user_id, session_id, ts)
                """)),
            PFirstContentEventAtSessionStart = Round(db.Scalar<double>("""
                SELECT avg((c.ts = s.session_start_ts)::DOUBLE)
                FROM content c JOIN sessions s USING (user_id, session_id)
                WHERE c.k = 1 AND s.session_start_ts IS NOT NULL
                """)),
            PTieGivenTransition = db.Query("""
                SELECT prev_name, name, avg((ts = prev_ts)::DOUBLE) FROM content WHERE prev_ts IS NOT NULL
                GROUP BY prev_name, name ORDER BY prev_name, count(*) DESC, name
                """, r => (From: r.GetString(0), To: r.GetString(1), P: Round(Convert.ToDouble(r.GetValue(2)))))
                .GroupBy(t => t.From).ToDictionary(g => g.Key, g => g.ToDictionary(t => t.To, t => t.P)),
            GapSeconds = Histogram(
                db.Query("SELECT (ts - prev_ts) / 1e6 FROM content WHERE ts > prev_ts", r => Convert.ToDouble(r.GetValue(0))),
                [(0.000001, 0.001), (0.001, 0.01), (0.01, 0.1), (0.1, 0.5), (0.5, 1), (1, 2), (2, 5), (5, 10), (10, 20),
                 (20, 30), (30, 60), (60, 120), (120, 300), (300, 600), (600, 1800), (1800, 7200), (7200, 86400)]),
            PReturnAfterSession = returnByIndex.Select(Round).ToArray(),
            ReturnGapHours = Histogram(
                db.Query("SELECT (next_start - start_ts) / 3.6e9 FROM user_sessions WHERE next_start IS NOT NULL",
                    r => Convert.ToDouble(r.GetValue(0))),
                [(0, 0.5), (0.5, 1), (1, 2), (2, 4), (4, 8), (8, 12), (12, 24), (24, 48), (48, 72), (72, 120), (120, 216)]),
            SessionsPerUser = sessionsPerUser.Select(Round).ToArray(),
            PEngagementTimeParam = db.Query("""
                SELECT name, avg(has_engagement_time::DOUBLE) FROM ev GROUP BY name HAVING avg(has_engagement_time::DOUBLE) > 0
                ORDER BY name
                """, r => (r.GetString(0), Round(Convert.ToDouble(r.GetValue(1))))).ToDictionary(),
            Items = db.Query("""
                SELECT name, avg((item_count > 0)::DOUBLE), avg(item_count) FILTER (WHERE item_count > 0)
                FROM ev GROUP BY name HAVING count(*) FILTER (WHERE item_count > 0) > 0 ORDER BY name
                """, r => (r.GetString(0), new ItemsShare(Round(Convert.ToDouble(r.GetValue(1))),
                              Round(Convert.ToDouble(r.GetValue(2)))))).ToDictionary(),
            DeviceCategory = TopValues(db, "device_category"),
            OperatingSystem = TopValues(db, "operating_system"),
            Browser = TopValues(db, "browser"),
            Country = TopValues(db, "country"),
            TrafficSource = TrafficSources(db),
        };
    }

    /// <summary>Content-event transitions with the start and end states, as row-normalised probabilities.</summary>
    private static Dictionary<string, Dictionary<string, double>> Transitions(DuckDBConnection db)
    {
        var counts = db.Query($"""
            SELECT coalesce(prev_name, '{Ga4Profile.StartState}') AS from_name, name AS to_name, count(*) FROM content GROUP BY ALL
            UNION ALL
            SELECT name, '{Ga4Profile.EndState}', count(*) FROM content WHERE next_name IS NULL GROUP BY ALL
            UNION ALL
            SELECT '{Ga4Profile.StartState}', '{Ga4Profile.EndState}', count(*) FROM sessions WHERE content_events = 0
            """, r => (From: r.GetString(0), To: r.GetString(1), Count: Convert.ToDouble(r.GetValue(2))));
        return counts.GroupBy(c => c.From)
            .OrderBy(g => g.Key == Ga4Profile.StartState ? 0 : 1).ThenByDescending(g => g.Sum(c => c.Count))
            .ToDictionary(g => g.Key, g =>
            {
                var total = g.Sum(c => c.Count);
                return g.OrderByDescending(c => c.Count).ThenBy(c => c.To, StringComparer.Ordinal)
                    .Select(c => (c.To, P: Round(c.Count / total)))
                    .Where(c => c.P > 0)
                    .ToDictionary(c => c.To, c => c.P);
            });
    }

    /// <summary>A user's first seen value of a column; the most common values, renormalised.</summary>
    private static Dictionary<string, double> TopValues(DuckDBConnection db, string column)
    {
        var top = db.Query($"""
            SELECT value, count(*) AS users
            FROM (SELECT arg_min({column}, ts) AS value FROM ev GROUP BY user_id)
            WHERE value IS NOT NULL GROUP BY value ORDER BY users DESC, value LIMIT {KeptCategories}
            """, r => (r.GetString(0), Convert.ToDouble(r.GetValue(1))));
        var total = top.Sum(t => t.Item2);
        return top.ToDictionary(t => t.Item1, t => Round(t.Item2 / total));
    }

    private static TrafficSourceShare[] TrafficSources(DuckDBConnection db)
    {
        var top = db.Query($"""
            SELECT medium, source_name, source, count(*) AS users
            FROM (SELECT arg_min(medium, ts) AS medium, arg_min(source_name, ts) AS source_name, arg_min(source, ts) AS source
                  FROM ev GROUP BY user_id)
            WHERE medium IS NOT NULL AND source_name IS NOT NULL AND source IS NOT NULL
            GROUP BY ALL ORDER BY users DESC, medium, source_name, source LIMIT {KeptCategories}
            """, r => (Medium: r.GetString(0), Name: r.GetString(1), Source: r.GetString(2), Users: Convert.ToDouble(r.GetValue(3))));
        var total = top.Sum(t => t.Users);
        return top.Select(t => new TrafficSourceShare(t.Medium, t.Name, t.Source, Round(t.Users / total))).ToArray();
    }

    /// <summary>Share of values in each [min, max] bin (values past the last bin count in it); empty bins dropped.</summary>
    private static ProfileBin[] Histogram(List<double> values, (double Min, double Max)[] bins)
    {
        var counts = new double[bins.Length];
        foreach (var value in values)
        {
            var bin = Array.FindIndex(bins, b => value <= b.Max);
            counts[bin < 0 ? bins.Length - 1 : bin]++;
        }
        return bins.Select((b, i) => new ProfileBin(b.Min, b.Max, Round(counts[i] / values.Count)))
            .Where(b => b.P > 0).ToArray();
    }

    /// <summary>Puts every array or object that holds no other array or object on one line, so the committed file
    /// reads as a table (a few KB) instead of one number per line.</summary>
    private static string CollapseLeaves(string indentedJson) =>
        System.Text.RegularExpressions.Regex.Replace(indentedJson, @"([\[{])\s*\n\s*([^\[\]{}]*?)\s*\n\s*([\]}])",
            m => m.Groups[1].Value + " " + System.Text.RegularExpressions.Regex.Replace(m.Groups[2].Value, @"\s*\n\s*", " ") +
                 " " + m.Groups[3].Value);

    private static void Normalise(double[] values)
    {
        var total = values.Sum();
        for (var i = 0; i < values.Length; i++) values[i] /= total;
    }

    /// <summary>Five decimals: enough for the rarest events (≈ 1e-5 of all) and keeps the file readable.</summary>
    private static double Round(double value) => Math.Round(value, 5);

}
