using System.Text;
using CustomerAnalysis.Ingestion.Parquet;
using CustomerAnalysis.Ingestion.Synthetic;
using Parquet;
using Parquet.Schema;

namespace CustomerAnalysis.Ingestion.Tests.Parquet;

/// <summary>
/// Columns read straight from the file must agree, slot by slot, with Parquet.Net's decoding: on the real export
/// (dictionary encoded, uncompressed) and on a synthetic one (PLAIN, Snappy), for flat columns (user ids, event names,
/// timestamps) and the repeated <c>event_params</c> keys and int values.
/// </summary>
public class ColumnScannerTests
{
    public static TheoryData<string> RealTables() => new(Directory.GetFiles(TestData.Ga4Tables, "*.parquet").Order().Take(2));

    [SharedDataTheory]
    [MemberData(nameof(RealTables))]
    public async Task Real_tables_agree_with_ParquetNet(string file) => await AssertAgreesWithParquetNet(file);

    [Fact]
    public async Task Synthetic_snappy_plain_tables_agree_with_ParquetNet()
    {
        using var temp = new TempFolder();
        var result = await SyntheticExport.WriteAsync(new SyntheticExportOptions
        {
            OutputFolder = temp.Path, Events = 30_000, Days = 1, Seed = 3, RowGroupRows = 10_000,
        });
        foreach (var file in result.Files) await AssertAgreesWithParquetNet(file);
    }

    [Fact]
    public void Utf8_values_are_numbered_as_the_strings_they_encode()
    {
        var strings = new CustomerAnalysis.Ingestion.Files.BatchStrings();
        Assert.Equal(0, strings.Number("päge_view"u8));
        Assert.Equal(0, strings.Number("päge_view".AsSpan()));
        Assert.Equal(1, strings.Number(Encoding.UTF8.GetBytes(new string('x', 300)))); // longer than the stack buffer
        Assert.Equal(["päge_view", new string('x', 300)], strings.ToArray());
    }

    private static async Task AssertAgreesWithParquetNet(string file)
    {
        await using var reader = await ParquetReader.CreateAsync(file);
        var columns = EventColumns.Find(reader.Schema, file);
        var sessionKeys = 0;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            foreach (var field in new[] { columns.UserPseudoId, columns.EventName, columns.ParamKey })
            {
                var seen = new RecordingNumbering();
                using var scanned = ColumnScanner.TryRead(file, rowGroup.GetMetadata(field)!, field, seen);
                Assert.NotNull(scanned);

                var slotCount = (int)rowGroup.GetMetadata(field)!.MetaData!.NumValues;
                var values = new ReadOnlyMemory<char>[slotCount];
                var definition = new int[slotCount];
                var repetition = new int[slotCount];
                await rowGroup.ReadRawAsync<ReadOnlyMemory<char>>(field, values, definition, repetition);
                Assert.Equal(slotCount, scanned.SlotCount);
                var next = 0;
                for (var slot = 0; slot < slotCount; slot++)
                {
                    var expected = definition[slot] == field.MaxDefinitionLevel ? values[next++].ToString() : null;
                    var number = scanned.Numbers[slot];
                    Assert.Equal(expected, number == ColumnScanner.Slots.Missing ? null : seen.Strings[number]);
                    Assert.Equal(field.MaxRepetitionLevel == 0 || repetition[slot] == 0, scanned.StartsRow[slot]);
                    if (expected == "ga_session_id") sessionKeys++;
                }
            }
        }
        Assert.True(sessionKeys > 0, $"{file} has no ga_session_id key: the comparison proved little");

        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            foreach (var field in new[] { columns.EventTimestamp, columns.ParamIntValue })
            {
                using var values = new Int64Values(16); // small on purpose: it must grow
                using var scanned = ColumnScanner.TryRead(file, rowGroup.GetMetadata(field)!, field, values);
                Assert.NotNull(scanned);

                var slotCount = (int)rowGroup.GetMetadata(field)!.MetaData!.NumValues;
                var expected = new long[slotCount];
                // Levels a column does not have are passed as null.
                var definition = field.MaxDefinitionLevel > 0 ? new int[slotCount] : null;
                var repetition = field.MaxRepetitionLevel > 0 ? new int[slotCount] : null;
                await rowGroup.ReadRawAsync<long>(field, expected, definition?.AsMemory(), repetition?.AsMemory());
                var next = 0;
                for (var slot = 0; slot < slotCount; slot++)
                {
                    long? value = definition is null || definition[slot] == field.MaxDefinitionLevel ? expected[next++] : null;
                    var number = scanned.Numbers[slot];
                    Assert.Equal(value, number == ColumnScanner.Slots.Missing ? null : values[number]);
                    Assert.Equal(repetition is null || repetition[slot] == 0, scanned.StartsRow[slot]);
                }
            }
        }
    }

    private sealed class RecordingNumbering : IValueNumbering
    {
        public List<string> Strings { get; } = [];

        public int Number(ReadOnlySpan<byte> utf8)
        {
            Strings.Add(Encoding.UTF8.GetString(utf8));
            return Strings.Count - 1;
        }
    }
}
