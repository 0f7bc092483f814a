using System.Text;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Tests.Json;

public class JsonReaderTests
{
    /// <summary>One GA4 row as bq extract writes it to NDJSON: INT64 as strings, every value struct present.</summary>
    private static string Row(string? user = "u1", string? timestamp = "\"1611187200697136\"", string? name = "\"page_view\"",
        string? sessionIntValue = "\"1604890495\"", string bundle = "\"42\"", string sessionKey = "ga_session_id") =>
        "{\"event_date\":\"20210121\"" +
        (timestamp is null ? "" : $",\"event_timestamp\":{timestamp}") +
        (name is null ? "" : $",\"event_name\":{name}") +
        ",\"event_params\":[" +
        "{\"key\":\"page_title\",\"value\":{\"string_value\":\"Home\",\"int_value\":null,\"float_value\":null,\"double_value\":null}}," +
        $"{{\"key\":\"{sessionKey}\",\"value\":{{\"string_value\":null,\"int_value\":{sessionIntValue ?? "null"},\"float_value\":null,\"double_value\":null}}}}]" +
        $",\"event_bundle_sequence_id\":{bundle}" +
        (user is null ? "" : $",\"user_pseudo_id\":\"{user}\"") +
        ",\"device\":{\"category\":\"desktop\",\"web_info\":{\"browser\":\"Chrome\"}},\"items\":[]}";

    [SharedDataFact]
    public async Task The_console_download_is_read_as_a_json_array()
    {
        var rows = await TestData.ReadAllAsync(EventSources.Open(TestData.Ga4ConsoleJson));

        Assert.Equal(20, rows.Count);
        Assert.Equal(new SourceRow("1256432.7346610146", 1609057547789405, "add_to_cart", 6813293714, 3850506611,
            TestData.Ga4ConsoleJson, 1), rows[0]);
        Assert.Equal(-2043773323, rows[1].EventBundleSequenceId);
        Assert.Equal(new SourceRow("2364862.0108372853", 1609083552575830, "begin_checkout", 3641845198, 1233330440,
            TestData.Ga4ConsoleJson, 20), rows[19]);
        Assert.Equal(6, rows.Select(r => r.UserPseudoId).Distinct().Count());
        Assert.All(rows, r => Assert.NotNull(r.GaSessionId));
    }

    [Fact]
    public async Task Newline_delimited_rows_accept_int64_as_string_or_number()
    {
        using var temp = new TempFolder();
        var file = temp.File("day.json", string.Join("\n",
            Row(),
            Row(user: "u2", timestamp: "1611187200697137", sessionIntValue: "77", bundle: "-5"),
            "") + "\n");

        var rows = await TestData.ReadAllAsync(EventSources.Open(file));

        Assert.Equal([
            new SourceRow("u1", 1611187200697136, "page_view", 1604890495, 42, file, 1),
            new SourceRow("u2", 1611187200697137, "page_view", 77, -5, file, 2),
        ], rows);
    }

    [Fact]
    public async Task Rows_missing_or_with_unparsable_needed_fields_are_rejected_with_file_and_row()
    {
        using var temp = new TempFolder();
        var file = temp.File("events.ndjson", string.Join("\n",
            Row(),
            Row(user: null),                        // 2: no user_pseudo_id
            Row(timestamp: "\"not a number\""),     // 3: unparsable timestamp counts as missing
            Row(name: "null"),                      // 4: null event_name
            Row(sessionKey: "ga_session_number"),   // 5: no ga_session_id param
            Row(sessionIntValue: "\"12x\""),        // 6: unparsable ga_session_id
            Row(timestamp: "1.5"),                  // 7: a non-integer number
            Row(name: "17"),                        // 8: event_name of the wrong type
            Row(bundle: "\"junk\"")));              // 9: bundle id is optional: kept without one

        var table = await EventSources.Open(file).ReadTableAsync();

        Assert.Equal(9, table.Report.RowsRead);
        Assert.Equal(2, table.Count);
        Assert.Equal(EventTable.NoBundleSequenceId, table.BundleSequenceId[1]);
        Assert.Equal(new Dictionary<RejectReason, long>
        {
            [RejectReason.MissingUserPseudoId] = 1,
            [RejectReason.MissingEventTimestamp] = 2,
            [RejectReason.MissingEventName] = 2,
            [RejectReason.MissingGaSessionId] = 2,
        }, table.Report.RejectedByReason);
        Assert.Equal([
            new RejectedRow(file, 2, RejectReason.MissingUserPseudoId),
            new RejectedRow(file, 3, RejectReason.MissingEventTimestamp),
            new RejectedRow(file, 4, RejectReason.MissingEventName),
            new RejectedRow(file, 5, RejectReason.MissingGaSessionId),
            new RejectedRow(file, 6, RejectReason.MissingGaSessionId),
            new RejectedRow(file, 7, RejectReason.MissingEventTimestamp),
            new RejectedRow(file, 8, RejectReason.MissingEventName),
        ], table.Report.FirstRejected);
    }

    [Fact]
    public async Task Many_rows_and_rows_larger_than_the_read_buffer_stream_through()
    {
        using var temp = new TempFolder();
        var padding = new string('x', 300_000); // one row bigger than the 64 KiB buffer forces it to grow
        var lines = Enumerable.Range(0, 5_000).Select(i => i == 2_500
            ? Row(user: "big").Replace("\"Home\"", $"\"{padding}\"")
            : Row(user: $"user{i % 97}", timestamp: i.ToString())).ToList();
        var ndjson = temp.File("many.jsonl", string.Join("\r\n", lines));
        var array = temp.File("many.json", "\uFEFF[\n" + string.Join(",\n", lines) + "\n]\n");

        foreach (var file in new[] { ndjson, array })
        {
            var rows = await TestData.ReadAllAsync(EventSources.Open(file));
            Assert.Equal(5_000, rows.Count);
            Assert.Equal("big", rows[2_500].UserPseudoId);
            Assert.Equal(4_999, rows[4_999].EventTimestamp);
            Assert.Equal(5_000, rows[4_999].RowNumber);
            Assert.All(rows, r => Assert.Equal(1604890495, r.GaSessionId));
        }
    }

    [Fact]
    public async Task Malformed_json_names_the_file_and_line()
    {
        using var temp = new TempFolder();
        var file = temp.File("broken.json", Row() + "\n" + Row() + "\n{\"user_pseudo_id\": \"u3\", \"event_name\": page_view}\n");

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => TestData.ReadAllAsync(EventSources.Open(file)));

        Assert.Contains(file, error.Message);
        Assert.Contains("line 3", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task A_truncated_array_is_malformed()
    {
        using var temp = new TempFolder();
        var file = temp.File("cut.json", "[\n" + Row() + ",\n" + Row()[..40]);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => TestData.ReadAllAsync(EventSources.Open(file)));

        Assert.Contains("cut.json line 3", error.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "row 1 is a number, not an object")]
    [InlineData("{\"user_pseudo_id\":\"u\"}\n[1]", "row 2 is an array, not an object")]
    [InlineData("\"text\"", "neither a JSON array nor newline-delimited JSON")]
    public async Task Json_that_is_not_rows_of_objects_is_rejected_as_input(string content, string expected)
    {
        using var temp = new TempFolder();
        var file = temp.File("odd.json", content);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => TestData.ReadAllAsync(EventSources.Open(file)));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n ")]
    [InlineData("[]")]
    public async Task Empty_exports_have_no_rows(string content)
    {
        using var temp = new TempFolder();
        var file = temp.File("empty.json", content);

        Assert.Empty(await TestData.ReadAllAsync(EventSources.Open(file)));
    }

    [Fact]
    public async Task Escaped_strings_and_reordered_param_fields_are_understood()
    {
        using var temp = new TempFolder();
        var file = temp.File("escaped.json",
            "{\"user_pseudo_id\":\"u\\u0031\",\"event_timestamp\":\"5\",\"event_name\":\"page\\u005fview\"," +
            "\"event_params\":[{\"value\":{\"int_value\":9},\"key\":\"ga_session_id\"},{\"key\":\"ga_session_id\",\"value\":{\"int_value\":\"10\"}}]}");

        var rows = await TestData.ReadAllAsync(EventSources.Open(file));

        Assert.Equal(new SourceRow("u1", 5, "page_view", 9, null, file, 1), Assert.Single(rows));
    }
}
