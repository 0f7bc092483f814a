using System.Buffers.Binary;
using System.Text;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.Synthetic;

namespace CustomerAnalysis.Ingestion.Tests.Damaged;

/// <summary>
/// Damaged exports (generated here, so no real data is needed): truncated, bytes flipped at seeded random places,
/// absurd sizes where sizes live. Each read either succeeds (a flip can land where it changes only a value) or fails
/// with an <see cref="InvalidInputException"/> naming the file — never another exception, a hang, a crash or an
/// allocation far beyond the file.
/// </summary>
/// <remarks>Runs alone: the allocation bound reads the process-wide counter, and the assembly's real-data reads,
/// running beside it, once pushed it over the bound.</remarks>
[Collection(DamagedFileCollection.Name)]
public sealed class DamagedFileTests : IClassFixture<DamagedFileTests.Exports>
{
    public sealed class Exports : IDisposable
    {
        private readonly TempFolder _folder = new();

        public Exports()
        {
            var result = SyntheticExport.WriteAsync(new SyntheticExportOptions
            {
                OutputFolder = _folder.Path, Events = 600, Days = 1, Seed = 8, RowGroupRows = 200, Format = SyntheticFormat.Both,
            }).GetAwaiter().GetResult();
            Parquet = File.ReadAllBytes(result.Files.Single(f => f.EndsWith(".parquet")));
            Ndjson = File.ReadAllBytes(result.Files.Single(f => f.EndsWith(".ndjson") || f.EndsWith(".json")));
            // The console download's shape: one JSON array of the same rows.
            var lines = Encoding.UTF8.GetString(Ndjson).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            JsonArray = Encoding.UTF8.GetBytes("[\n" + string.Join(",\n", lines) + "\n]\n");
        }

        public byte[] Parquet { get; }
        public byte[] Ndjson { get; }
        public byte[] JsonArray { get; }

        public void Dispose() => _folder.Dispose();
    }

    private readonly Exports _exports;

    public DamagedFileTests(Exports exports) => _exports = exports;

    public static TheoryData<string> Formats => new() { "parquet", "ndjson", "json" };

    private (byte[] Bytes, string Extension) Export(string format) => format switch
    {
        "parquet" => (_exports.Parquet, ".parquet"),
        "ndjson" => (_exports.Ndjson, ".ndjson"),
        _ => (_exports.JsonArray, ".json"),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task The_undamaged_file_reads(string format)
    {
        var (bytes, extension) = Export(format);
        var table = await ReadAsync(bytes, extension, "intact");
        Assert.NotNull(table);
        Assert.True(table.Count > 500);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Truncated_files_fail_naming_the_file(string format)
    {
        var (bytes, extension) = Export(format);
        var lengths = new[] { 0, 1, 3, 4, 7, 8, 12, 100, bytes.Length / 3, bytes.Length / 2, bytes.Length - 9, bytes.Length - 5, bytes.Length - 1 };
        foreach (var length in lengths.Where(l => l < bytes.Length).Distinct())
            await ReadAsync(bytes[..length], extension, $"cut{length}");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Seeded_random_byte_flips_fail_cleanly_or_read(string format)
    {
        var (bytes, extension) = Export(format);
        for (var seed = 0; seed < 150; seed++)
        {
            var random = new Random(seed);
            var damaged = (byte[])bytes.Clone();
            var flips = 1 + random.Next(4);
            for (var i = 0; i < flips; i++)
            {
                // Half of the flips in the last 2 KB: the Parquet footer (schema, offsets, sizes) lives there.
                var position = random.Next(2) == 0 ? random.Next(damaged.Length) : Math.Max(0, damaged.Length - 1 - random.Next(2048));
                damaged[position] ^= (byte)(1 + random.Next(255));
            }
            await ReadAsync(damaged, extension, $"flip{seed}");
        }
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(-8)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1 << 30)]
    public async Task A_parquet_footer_length_pointing_outside_the_file_fails_naming_the_file(int footerLength)
    {
        var damaged = (byte[])_exports.Parquet.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(damaged.AsSpan(damaged.Length - 8), footerLength);
        await ReadAsync(damaged, ".parquet", $"footer{footerLength}", mustFail: true);
    }

    [Fact]
    public async Task Absurd_sizes_written_over_every_parquet_varint_fail_cleanly_or_read()
    {
        // Page headers and the footer are Thrift compact: sizes and counts are varints. Writing the largest
        // 5-byte varint (0xFF FF FF FF 0F, about 2^32) at offsets across the file hits page sizes, value counts
        // and level lengths of every column chunk.
        var bytes = _exports.Parquet;
        var step = Math.Max(1, bytes.Length / 160);
        for (var offset = 4; offset + 5 < bytes.Length - 8; offset += step)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[offset] = 0xFF;
            damaged[offset + 1] = 0xFF;
            damaged[offset + 2] = 0xFF;
            damaged[offset + 3] = 0xFF;
            damaged[offset + 4] = 0x0F;
            await ReadAsync(damaged, ".parquet", $"varint{offset}");
        }
    }

    [Theory]
    [InlineData("ndjson")]
    [InlineData("json")]
    public async Task Json_that_is_too_deep_too_long_or_not_utf8_fails_naming_the_file(string format)
    {
        var extension = format == "json" ? ".json" : ".ndjson";
        var cases = new[]
        {
            new string('[', 100_000),                                          // nesting far beyond any event
            "{\"event_name\": \"" + new string('a', 100) + "\\ud800\"}",      // a lone surrogate escape
            "{\"event_timestamp\": 1" + new string('0', 400) + "}",            // a number no integer holds
            "{\"user_pseudo_id\": " + new string('{', 5_000) + "}",
        };
        foreach (var (text, index) in cases.Select((t, i) => (t, i)))
            await ReadAsync(Encoding.UTF8.GetBytes(text), extension, $"case{index}", mustFail: true);
        await ReadAsync([0xC3, 0x28, 0xFF, 0xFE, (byte)'{', (byte)'}'], extension, "utf8", mustFail: true);
    }

    /// <summary>Writes the bytes to a file, reads it as an export within a time limit and checks the outcome.</summary>
    private static async Task<Core.Events.EventTable?> ReadAsync(byte[] bytes, string extension, string name, bool mustFail = false)
    {
        using var temp = new TempFolder();
        var path = temp.File($"damaged-{name}{extension}");
        await File.WriteAllBytesAsync(path, bytes);
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var read = Task.Run(() => EventSources.Open(path).ReadTableAsync());
        if (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(20))) != read)
            Assert.Fail($"{name}: reading the damaged file did not finish in 20 s");
        var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        // The collection runs alone, so the counter holds this read's allocations (and the test host's own).
        Assert.True(allocated < 512L << 20, $"{name}: reading {bytes.Length:N0} bytes allocated {allocated:N0}");
        try
        {
            var table = await read;
            Assert.False(mustFail, $"{name}: the damaged file was read without an error");
            return table;
        }
        catch (InvalidInputException e)
        {
            Assert.Contains(Path.GetFileName(path), e.Message);
            return null;
        }
        catch (Exception e)
        {
            Assert.Fail($"{name}: {e.GetType().Name} instead of InvalidInputException: {e}");
            return null;
        }
    }
}

/// <summary>Keeps the damaged-file tests from running beside the other collections (see <see cref="DamagedFileTests"/>).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DamagedFileCollection
{
    public const string Name = "Damaged files";
}
