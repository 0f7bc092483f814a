using System.Text.Json.Serialization;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using Parquet;
using Parquet.Serialization;

namespace CustomerAnalysis.Ingestion.Tests.Parquet;

/// <summary>Small files with GA4's nested schema, written here, so that edge cases the real sample lacks are covered.</summary>
public class NestedParquetTests
{
    // Property names follow the GA4 export's column names.
    public sealed class ParamValue
    {
        [JsonPropertyName("string_value")] public string? StringValue { get; set; }
        [JsonPropertyName("int_value")] public long? IntValue { get; set; }
        [JsonPropertyName("double_value")] public double? DoubleValue { get; set; }
    }

    public sealed class Param
    {
        [JsonPropertyName("key")] public string? Key { get; set; }
        [JsonPropertyName("value")] public ParamValue? Value { get; set; }
    }

    public sealed class Ga4Event
    {
        [JsonPropertyName("event_timestamp")] public long? EventTimestamp { get; set; }
        [JsonPropertyName("event_name")] public string? EventName { get; set; }
        [JsonPropertyName("event_params")] public List<Param>? EventParams { get; set; }
        [JsonPropertyName("event_bundle_sequence_id")] public long? EventBundleSequenceId { get; set; }
        [JsonPropertyName("user_pseudo_id")] public string? UserPseudoId { get; set; }
    }

    public sealed class NotGa4
    {
        [JsonPropertyName("event_name")] public string? EventName { get; set; }
    }

    private static Param Int(string key, long? value) => new() { Key = key, Value = new ParamValue { IntValue = value } };
    private static Param Text(string key, string value) => new() { Key = key, Value = new ParamValue { StringValue = value } };

    [Fact]
    public async Task Session_ids_are_rebuilt_from_the_nested_event_params_across_row_groups()
    {
        using var temp = new TempFolder();
        var file = temp.File("nested.parquet");
        Ga4Event[] events =
        [
            new() { UserPseudoId = "a", EventTimestamp = 10, EventName = "page_view", EventBundleSequenceId = 1,
                EventParams = [Text("page_title", "Home"), Int("ga_session_id", 100), Int("engagement_time_msec", 5)] },
            new() { UserPseudoId = "a", EventTimestamp = 11, EventName = "scroll", EventParams = [] },                 // empty list
            new() { UserPseudoId = "b", EventTimestamp = 12, EventName = "scroll", EventParams = null },               // null list
            new() { UserPseudoId = "b", EventTimestamp = 13, EventName = "click", EventBundleSequenceId = -3,
                EventParams = [Int("ga_session_id", null), Text("x", "y")] },                                          // id without int_value
            new() { UserPseudoId = null, EventTimestamp = 14, EventName = "click", EventParams = [Int("ga_session_id", 7)] },
            new() { UserPseudoId = "c", EventTimestamp = null, EventName = "first_visit",
                EventParams = [new Param { Key = null, Value = null }, Int("ga_session_number", 2), Int("ga_session_id", 300), Int("ga_session_id", 301)] },
            new() { UserPseudoId = "c", EventTimestamp = 16, EventName = "session_start", EventBundleSequenceId = 8,
                EventParams = [Int("ga_session_id", 300)] },
        ];
        // Three rows per row group: rows and their params must line up across group boundaries.
        await ParquetSerializer.SerializeAsync(events, file, new ParquetOptions { RowGroupSize = 3 });
        await using (var written = await ParquetReader.CreateAsync(file)) Assert.Equal(3, written.RowGroupCount);

        var rows = await TestData.ReadAllAsync(EventSources.Open(file));

        Assert.Equal([
            new SourceRow("a", 10, "page_view", 100, 1, file, 1),
            new SourceRow("a", 11, "scroll", null, null, file, 2),
            new SourceRow("b", 12, "scroll", null, null, file, 3),
            new SourceRow("b", 13, "click", null, -3, file, 4),
            new SourceRow(null, 14, "click", 7, null, file, 5),
            new SourceRow("c", null, "first_visit", 300, null, file, 6),
            new SourceRow("c", 16, "session_start", 300, 8, file, 7),
        ], rows);
    }

    [Fact]
    public async Task The_test_file_has_the_export_layout()
    {
        using var temp = new TempFolder();
        var file = temp.File("layout.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new Ga4Event { EventParams = [Int("ga_session_id", 1)] } }, file);

        var schema = await ParquetReader.ReadSchemaAsync(file);

        Assert.Contains(schema.GetDataFields(), f => f.Path.ToString() == "event_params/list/element/value/int_value");
    }

    [Fact]
    public async Task A_parquet_file_without_ga4_columns_is_invalid_input()
    {
        using var temp = new TempFolder();
        var file = temp.File("other.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new NotGa4 { EventName = "x" } }, file);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => TestData.ReadAllAsync(EventSources.Open(file)));

        Assert.Equal($"Parquet file {file} is not a GA4 export: it has no column user_pseudo_id", error.Message);
    }
}
