using System.Text.Json;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Tests.Parquet;

/// <summary>
/// Each real daily table of Google's GA4 sample must read to exactly the statistics computed independently in
/// computed_stats.json: rows, users, sessions (user × ga_session_id) and event counts.
/// </summary>
public class RealExportTests
{
    // Lazy: the class must load (to be skipped) without the real data.
    private static readonly Lazy<JsonElement> LazyStats = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.Ga4Folder, "computed_stats.json"))).RootElement);
    private static JsonElement Stats => LazyStats.Value;

    public static TheoryData<string> Tables()
    {
        var data = new TheoryData<string>();
        foreach (var table in Stats.EnumerateObject().Select(p => p.Name).Where(n => n.EndsWith(".parquet"))) data.Add(table);
        return data;
    }

    [SharedDataTheory]
    [MemberData(nameof(Tables))]
    public async Task Each_daily_table_matches_the_computed_statistics(string tableFile)
    {
        var expected = Stats.GetProperty(tableFile);

        var table = await EventSources.Open(Path.Combine(TestData.Ga4Tables, tableFile)).ReadTableAsync();

        Assert.Equal(expected.GetProperty("rows").GetInt32(), table.Count);
        Assert.Equal(0, table.Report.RowsRejected);
        Assert.Equal(expected.GetProperty("distinct_user_pseudo_id").GetInt32(), table.Users.Count);
        Assert.Equal(expected.GetProperty("distinct_sessions_user_x_ga_session_id").GetInt32(), CountSessions(table));
        Assert.Equal(expected.GetProperty("distinct_ga_session_id_values").GetInt32(), table.GaSessionId.ToArray().Distinct().Count());
        var expectedCounts = expected.GetProperty("event_name_counts").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(expectedCounts, CountEvents(table));
        Assert.Equal(expected.GetProperty("min_event_timestamp_us").GetInt64(), Min(table.Timestamp));
        Assert.Equal(expected.GetProperty("max_event_timestamp_us").GetInt64(), Max(table.Timestamp));
        Assert.DoesNotContain(EventTable.NoBundleSequenceId, table.BundleSequenceId.ToArray());
    }

    [SharedDataFact]
    public async Task The_folder_reads_every_table_in_date_order()
    {
        var sources = new List<string>();
        var source = EventSources.Open(TestData.Ga4Tables);
        var rows = 0;
        await foreach (var row in source.ReadRowsAsync())
        {
            if (sources.Count == 0 || sources[^1] != row.Source) sources.Add(row.Source);
            rows++;
        }

        Assert.Equal(385_255, rows);
        Assert.Equal(Enumerable.Range(21, 9).Select(d => $"events_202101{d}.parquet"), sources.Select(Path.GetFileName));
    }

    [SharedDataFact]
    public async Task Rows_are_numbered_within_their_file_in_file_order()
    {
        var source = EventSources.Open(Path.Combine(TestData.Ga4Tables, "events_20210124.parquet"));
        var expectedNumber = 1L;
        await foreach (var row in source.ReadRowsAsync())
            Assert.Equal(expectedNumber++, row.RowNumber);
        Assert.Equal(31_703, expectedNumber);
    }

    private static int CountSessions(EventTable table)
    {
        var sessions = new HashSet<(int, long)>();
        for (var i = 0; i < table.Count; i++) sessions.Add((table.UserIndex[i], table.GaSessionId[i]));
        return sessions.Count;
    }

    private static Dictionary<string, int> CountEvents(EventTable table)
    {
        var counts = new Dictionary<string, int>();
        foreach (var name in table.NameIndex) counts[table.EventNames[name]] = counts.GetValueOrDefault(table.EventNames[name]) + 1;
        return counts;
    }

    private static long Min(ReadOnlySpan<long> values) { var m = long.MaxValue; foreach (var v in values) m = Math.Min(m, v); return m; }
    private static long Max(ReadOnlySpan<long> values) { var m = long.MinValue; foreach (var v in values) m = Math.Max(m, v); return m; }
}
