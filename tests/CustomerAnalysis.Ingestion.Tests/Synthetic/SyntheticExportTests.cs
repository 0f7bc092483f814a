using System.Text.Json;
using System.Text.RegularExpressions;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.Synthetic;
using Parquet;
using Parquet.Schema;

namespace CustomerAnalysis.Ingestion.Tests.Synthetic;

public sealed class SyntheticExportTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ca-synth-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private async Task<SyntheticExportResult> Write(string name, int seed, long events = 4_000, int days = 2,
        SyntheticFormat format = SyntheticFormat.Both) =>
        await SyntheticExport.WriteAsync(new SyntheticExportOptions
        {
            OutputFolder = Path.Combine(_root, name), Events = events, Days = days, Seed = seed, Format = format,
            RowGroupRows = 1_000, // several row groups per file, as in a large export
        });

    [Fact]
    public async Task Same_seed_writes_byte_identical_files()
    {
        var first = await Write("a", seed: 7);
        var second = await Write("b", seed: 7);

        Assert.Equal(first.Files.Select(Path.GetFileName), second.Files.Select(Path.GetFileName));
        Assert.Equal(4, first.Files.Count); // 2 days × (parquet + json)
        foreach (var (a, b) in first.Files.Zip(second.Files))
            Assert.True(File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b)), $"{Path.GetFileName(a)} differs");
    }

    [Fact]
    public async Task Different_seed_writes_different_files()
    {
        var first = await Write("a", seed: 7, format: SyntheticFormat.Ndjson);
        var second = await Write("b", seed: 8, format: SyntheticFormat.Ndjson);

        Assert.NotEqual(File.ReadAllText(first.Files[0]), File.ReadAllText(second.Files[0]));
    }

    [Fact]
    public async Task Event_count_is_within_one_percent_of_the_request()
    {
        var result = await Write("count", seed: 3, events: 20_000, days: 3, format: SyntheticFormat.Ndjson);

        var lines = result.Files.Sum(f => File.ReadLines(f).Count());
        Assert.Equal(result.Events, lines);
        Assert.InRange(lines, 19_800, 20_200);
        Assert.Equal(["events_20210121.json", "events_20210122.json", "events_20210123.json"], result.Files.Select(Path.GetFileName));
    }

    [Fact]
    public async Task Ndjson_rows_have_the_bq_extract_shape()
    {
        var result = await Write("shape", seed: 5, format: SyntheticFormat.Ndjson);

        foreach (var file in result.Files)
        {
            var date = Regex.Match(Path.GetFileName(file), @"events_(\d{8})\.json").Groups[1].Value;
            foreach (var line in File.ReadLines(file))
            {
                using var row = JsonDocument.Parse(line);
                var e = row.RootElement;
                Assert.Equal(date, e.GetProperty("event_date").GetString());
                // INT64 columns are JSON strings in a bq extract.
                var timestamp = long.Parse(e.GetProperty("event_timestamp").GetString()!);
                Assert.Equal(date, DateTimeOffset.FromUnixTimeMilliseconds(timestamp / 1000).ToString("yyyyMMdd"));
                Assert.Equal(JsonValueKind.String, e.GetProperty("event_bundle_sequence_id").ValueKind);
                Assert.Equal(JsonValueKind.String, e.GetProperty("stream_id").ValueKind);
                Assert.Matches(@"^\d{7}\.\d{10}$", e.GetProperty("user_pseudo_id").GetString());
                Assert.False(string.IsNullOrEmpty(e.GetProperty("event_name").GetString()));
                var sessionId = e.GetProperty("event_params").EnumerateArray()
                    .Single(p => p.GetProperty("key").GetString() == "ga_session_id")
                    .GetProperty("value").GetProperty("int_value");
                Assert.Equal(JsonValueKind.String, sessionId.ValueKind);
                Assert.True(long.Parse(sessionId.GetString()!) > 0);
                Assert.Equal(JsonValueKind.Array, e.GetProperty("items").ValueKind);
                Assert.Equal("WEB", e.GetProperty("platform").GetString());
            }
        }
    }

    [Fact]
    public async Task Parquet_has_the_nested_GA4_schema_and_the_same_rows_as_ndjson()
    {
        var result = await Write("parquet", seed: 11, events: 3_000, days: 1);
        var parquet = result.Files.Single(f => f.EndsWith(".parquet"));

        await using var reader = await ParquetReader.CreateAsync(parquet);
        var parameters = Assert.IsType<ListField>(reader.Schema.Fields.Single(f => f.Name == "event_params"));
        Assert.False(parameters.IsNullable); // REQUIRED list, as BigQuery writes it
        var element = Assert.IsType<StructField>(parameters.Item);
        Assert.False(element.IsNullable);
        Assert.Equal(["key", "value"], element.Fields.Select(f => f.Name));
        var intValue = reader.Schema.GetDataFields().Single(f => f.Path.ToString() == new FieldPath("event_params", "list", "element", "value", "int_value").ToString());
        Assert.Equal((1, 3), (intValue.MaxRepetitionLevel, intValue.MaxDefinitionLevel)); // same levels as the real tables
        Assert.Contains(reader.Schema.Fields, f => f is ListField { Name: "items", IsNullable: false });
        Assert.Contains(reader.Schema.Fields, f => f is StructField { Name: "device" });
        Assert.True(reader.RowGroupCount >= 3, "row groups are bounded (1,000 rows here)");

        long rows = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var rowGroup = reader.OpenRowGroupReader(g);
            var timestamps = new long?[rowGroup.RowCount];
            await rowGroup.ReadAsync<long>(reader.Schema.GetDataFields().Single(f => f.Name == "event_timestamp"), timestamps.AsMemory(), null, default);
            Assert.All(timestamps, t => Assert.NotNull(t));
            rows += rowGroup.RowCount;
        }
        var json = result.Files.Single(f => f.EndsWith(".json"));
        Assert.Equal(File.ReadLines(json).Count(), rows);
    }

    [Fact]
    public async Task Invalid_options_are_rejected_with_the_setting_named()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => SyntheticExport.WriteAsync(
            new SyntheticExportOptions { OutputFolder = _root, Events = 0 }));
        Assert.Contains("Events", error.Message);
        await Assert.ThrowsAsync<InvalidInputException>(() => SyntheticExport.WriteAsync(
            new SyntheticExportOptions { OutputFolder = _root, Days = 0 }));
    }
}
