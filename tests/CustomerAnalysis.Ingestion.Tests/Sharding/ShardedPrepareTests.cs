using System.Text.Json;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion.Synthetic;
using Xunit.Abstractions;

namespace CustomerAnalysis.Ingestion.Tests.Sharding;

/// <summary>A synthetic export written once for the class (Parquet and JSON, several row groups per file).</summary>
public sealed class SyntheticShardExport : IDisposable
{
    public SyntheticShardExport()
    {
        Folder = Directory.CreateTempSubdirectory("ca-shard-export-").FullName;
        SyntheticExport.WriteAsync(new SyntheticExportOptions
        {
            OutputFolder = Folder, Events = 40_000, Days = 4, Seed = 11, Format = SyntheticFormat.Parquet,
            RowGroupRows = 5_000,
        }).GetAwaiter().GetResult();
    }

    public string Folder { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>
/// Sharded preparation: every shard reads the whole source and keeps its users; the merge of the parts must be the
/// unsharded dataset exactly (same sequences in the same order, labels, split membership, vocabulary and counts).
/// </summary>
public sealed class ShardedPrepareTests(SyntheticShardExport export, ITestOutputHelper output)
    : IClassFixture<SyntheticShardExport>
{
    public static TheoryData<PredictionTask, string, int> SyntheticCases() => new()
    {
        { PredictionTask.Events, DatasetPreparer.DefaultProtocol, 4 },
        { PredictionTask.Churn, DatasetPreparer.DefaultProtocol, 4 },
        { PredictionTask.Churn, DatasetPreparer.DefaultProtocol, 16 },
        { PredictionTask.Events, DatasetPreparer.OriginalProtocol, 3 },
        { PredictionTask.Churn, DatasetPreparer.OriginalProtocol, 3 },
    };

    [Theory]
    [MemberData(nameof(SyntheticCases))]
    public async Task Sharded_prepare_of_a_synthetic_export_equals_the_unsharded_one(PredictionTask task, string protocol,
        int shards)
    {
        var options = PrepareOptions.Default with { MaxSequenceLength = 20 }; // some truncation, too
        var whole = await PrepareWholeAsync(export.Folder, task, options, protocol);
        var sharded = await PrepareShardedAsync(export.Folder, task, options, protocol, shards);

        AssertSameDataset(whole, sharded);
        Assert.True(whole.Train.Count > 100, $"too small to mean anything: {whole.Train.Count} training sequences");
        if (task == PredictionTask.Churn && protocol == DatasetPreparer.DefaultProtocol)
            Assert.True(((ChurnLabelCounts)whole.Summary.Labels).Censored > 0, "no user was censored: the merge's censoring is untested");
        Assert.True(whole.Summary.SequencesTruncated > 0, "no sequence was truncated");
    }

    [Theory]
    [InlineData(PredictionTask.Events, 4)]
    [InlineData(PredictionTask.Churn, 3)]
    public async Task With_signals_the_sharded_prepare_equals_the_unsharded_one_too(PredictionTask task, int shards)
    {
        var options = PrepareOptions.Default with { MaxSequenceLength = 20, Signals = Core.Events.Signals.Recommended, SignalVocabularySize = 5 };
        var whole = await PrepareWholeAsync(export.Folder, task, options, DatasetPreparer.DefaultProtocol);
        var sharded = await PrepareShardedAsync(export.Folder, task, options, DatasetPreparer.DefaultProtocol, shards);

        AssertSameDataset(whole, sharded);
        Assert.NotNull(whole.Signals);
        // The synthetic export fills device, geo and traffic source: some real values, not only markers.
        Assert.Contains(whole.Train, e => e.Signals!.User.Any(token => token > SignalEncoding.Other));
    }

    [Fact]
    public async Task Merge_order_of_the_parts_does_not_matter_and_every_part_is_needed()
    {
        var source = EventSources.Open(export.Folder);
        var parts = new List<PreparedShard>();
        for (var k = 0; k < 3; k++)
            parts.Add(DatasetPreparer.PrepareShard(await source.ReadShardAsync(new UserShard(k, 3)), PredictionTask.Events,
                PrepareOptions.Default, DatasetPreparer.DefaultProtocol, new UserShard(k, 3)));

        AssertSameDataset(DatasetPreparer.Merge(parts), DatasetPreparer.Merge([parts[2], parts[0], parts[1]]));
        var missing = Assert.Throws<ArgumentException>(() => DatasetPreparer.Merge([parts[0], parts[2]]));
        Assert.Contains("2 of 3 shards", missing.Message);
        Assert.Throws<ArgumentException>(() => DatasetPreparer.Merge([parts[0], parts[0], parts[1]]));
    }

    [Fact]
    public async Task Each_user_and_row_is_in_exactly_one_shard()
    {
        var source = EventSources.Open(export.Folder);
        var whole = await source.ReadTableAsync();
        var users = new HashSet<string>(StringComparer.Ordinal);
        long rows = 0;
        for (var k = 0; k < 5; k++)
        {
            var shard = await source.ReadShardAsync(new UserShard(k, 5));
            rows += shard.Report.RowsRead;
            Assert.All(shard.Users, u => Assert.Equal(k, UserShard.Of(u, 5)));
            foreach (var user in shard.Users) Assert.True(users.Add(user), $"{user} is in two shards");
            Assert.InRange(shard.Users.Count, whole.Users.Count / 5 * 0.8, whole.Users.Count / 5 * 1.2);
        }
        Assert.Equal(whole.Report.RowsRead, rows);
        Assert.Equal(whole.Users.Count, users.Count);
    }

    [SharedDataFact]
    public async Task Sharded_prepare_of_the_nine_real_days_equals_the_unsharded_one()
    {
        // Each table is read once and prepared for both tasks (reading is most of the time).
        const int shards = 4;
        var tasks = new[] { PredictionTask.Events, PredictionTask.Churn };
        var whole = await EventSources.Open(TestData.Ga4Tables).ReadTableAsync();
        var parts = tasks.ToDictionary(t => t, _ => new List<PreparedShard>());
        for (var k = 0; k < shards; k++)
        {
            var shard = new UserShard(k, shards);
            var table = await EventSources.Open(TestData.Ga4Tables).ReadShardAsync(shard);
            foreach (var task in tasks)
                parts[task].Add(DatasetPreparer.PrepareShard(table, task, PrepareOptions.Default,
                    DatasetPreparer.DefaultProtocol, shard));
        }
        foreach (var task in tasks)
        {
            var expected = DatasetPreparer.Prepare(whole, task, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
            AssertSameDataset(expected, DatasetPreparer.Merge(parts[task]));
            output.WriteLine($"{task}: {expected.Summary.Sequences} sequences, splits {expected.Summary.Splits}");
        }
    }

    private static async Task<PreparedDataset> PrepareWholeAsync(string input, PredictionTask task, PrepareOptions options,
        string protocol) =>
        DatasetPreparer.Prepare(await EventSources.Open(input, SignalsOf(options, protocol)).ReadTableAsync(), task, options, protocol);

    private static EventSourceOptions SignalsOf(PrepareOptions options, string protocol) =>
        new() { Signals = DatasetPreparer.SignalsToRead(options, protocol) };

    private static async Task<PreparedDataset> PrepareShardedAsync(string input, PredictionTask task,
        PrepareOptions options, string protocol, int shards)
    {
        var parts = new List<PreparedShard>();
        for (var k = 0; k < shards; k++)
        {
            // A fresh source per shard, as each shard activity opens its own.
            var shard = new UserShard(k, shards);
            var table = await EventSources.Open(input, SignalsOf(options, protocol)).ReadShardAsync(shard);
            var part = DatasetPreparer.PrepareShard(table, task, options, protocol, shard);
            // Through the JSON a part is stored as, so that what crosses activities is what is compared.
            parts.Add(JsonSerializer.Deserialize<PreparedShard>(JsonSerializer.Serialize(part))!);
        }
        return DatasetPreparer.Merge(parts);
    }

    internal static void AssertSameDataset(PreparedDataset expected, PreparedDataset actual)
    {
        Assert.Equal(expected.Task, actual.Task);
        Assert.Equal(expected.Options, actual.Options);
        Assert.Equal(expected.Vocabulary.Tokens, actual.Vocabulary.Tokens);
        Assert.Equal(JsonSerializer.Serialize(expected.Summary), JsonSerializer.Serialize(actual.Summary));
        Assert.Equal(JsonSerializer.Serialize(expected.Signals?.Features), JsonSerializer.Serialize(actual.Signals?.Features));
        foreach (var (name, e, a) in new[]
                 {
                     ("train", expected.Train, actual.Train), ("validation", expected.Validation, actual.Validation),
                     ("test", expected.Test, actual.Test),
                 })
        {
            Assert.Equal(e.Count, a.Count);
            for (var i = 0; i < e.Count; i++)
            {
                Assert.True(e[i].Id == a[i].Id, $"{name}[{i}]: {e[i].Id} vs {a[i].Id}");
                Assert.Equal(e[i].User, a[i].User);
                Assert.Equal(e[i].Label, a[i].Label);
                Assert.Equal(e[i].Tokens, a[i].Tokens);
                Assert.Equal(e[i].GapSeconds, a[i].GapSeconds);
                Assert.Equal(JsonSerializer.Serialize(e[i].Signals), JsonSerializer.Serialize(a[i].Signals));
            }
        }
    }
}
