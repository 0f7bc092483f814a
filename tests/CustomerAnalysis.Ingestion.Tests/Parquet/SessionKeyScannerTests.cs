using CustomerAnalysis.Ingestion.Parquet;
using CustomerAnalysis.Ingestion.Synthetic;
using Parquet;

namespace CustomerAnalysis.Ingestion.Tests.Parquet;

/// <summary>
/// The key column read straight from the file must agree, slot by slot, with Parquet.Net's decoding: on the real
/// export (dictionary encoded, uncompressed) and on a synthetic one (PLAIN, Snappy, several pages per chunk).
/// </summary>
public class SessionKeyScannerTests
{
    public static TheoryData<string> RealTables() => new(Directory.GetFiles(TestData.Ga4Tables, "*.parquet").Order().Take(2));

    [Theory]
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

    private static async Task AssertAgreesWithParquetNet(string file)
    {
        await using var reader = await ParquetReader.CreateAsync(file);
        var keyField = EventColumns.Find(reader.Schema, file).ParamKey;
        var sessionKeys = 0;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            var chunk = rowGroup.GetMetadata(keyField)!;
            using var scanned = SessionKeyScanner.TryRead(file, chunk, keyField);
            Assert.NotNull(scanned);

            var slotCount = (int)chunk.MetaData!.NumValues;
            var keys = new ReadOnlyMemory<char>[slotCount];
            var definition = new int[slotCount];
            var repetition = new int[slotCount];
            await rowGroup.ReadRawAsync<ReadOnlyMemory<char>>(keyField, keys, definition, repetition);
            Assert.Equal(slotCount, scanned.SlotCount);
            var next = 0;
            for (var slot = 0; slot < slotCount; slot++)
            {
                var isSessionKey = definition[slot] == keyField.MaxDefinitionLevel && keys[next++].Span.SequenceEqual("ga_session_id");
                Assert.Equal(repetition[slot] == 0, scanned.StartsRow[slot]);
                Assert.Equal(isSessionKey, scanned.IsSessionKey[slot]);
                if (isSessionKey) sessionKeys++;
            }
        }
        Assert.True(sessionKeys > 0, $"{file} has no ga_session_id key: the comparison proved nothing");
    }
}
