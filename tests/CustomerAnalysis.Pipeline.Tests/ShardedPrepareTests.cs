using System.Text.Json;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>A run with <c>prepare.shards</c> &gt; 1 on the real preparer: one activity per shard, a merge, and the
/// dataset the trials read is the unsharded one, even when a shard activity fails and is retried.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ShardedPrepareTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _export = Directory.CreateTempSubdirectory("ca-sharded-export-").FullName;

    public void Dispose() => Directory.Delete(_export, recursive: true);

    [Fact]
    public async Task A_sharded_prepare_whose_shard_crashed_is_retried_and_gives_the_unsharded_dataset()
    {
        await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = _export, Events = 20_000, Seed = 5 });
        var preparer = new CrashingShardPreparer(crashingShard: 1);
        await using var pipeline = await PipelineHarness.StartAsync(azurite,
            services => services.AddSingleton<IShardPreparer>(preparer));

        var done = await pipeline.RunToEndAsync(
            PipelineHarness.Input(new { num_layers = new[] { 2 } }, source: _export) with { Shards = 3 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var status = done.ReadCustomStatusAs<TrainingProgress>()!;
        Assert.Equal((3, 3), (status.ShardsDone, status.ShardsTotal));
        Assert.Equal([1, 2, 1], preparer.Attempts); // shard 1 failed once and was retried
        for (var k = 0; k < 3; k++)
            Assert.True(await pipeline.Artifacts.ExistsAsync(ArtifactNames.DatasetShard(done.InstanceId, k, 3)));

        await using var stream = await pipeline.Artifacts.OpenReadAsync(ArtifactNames.Dataset(done.InstanceId));
        var stored = await DatasetBlobFormat.ReadAsync(stream);
        var unsharded = DatasetPreparer.Prepare(await EventSources.Open(_export).ReadTableAsync(), PredictionTask.Events,
            PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
        Assert.True(unsharded.Train.Count > 500);
        Assert.Equal(JsonSerializer.Serialize(unsharded), JsonSerializer.Serialize(stored));
    }

    [Fact]
    public void Shards_come_from_the_pipeline_config_and_are_checked()
    {
        Assert.Equal(1, new PipelineConfig().Prepare.ValidShards());
        Assert.Equal(16, new PipelineConfig.PrepareSection { Shards = 16 }.ValidShards());
        var bad = Assert.Throws<Core.InvalidInputException>(() => new PipelineConfig.PrepareSection { Shards = 0 }.ValidShards());
        Assert.Contains("prepare.shards", bad.Message);
    }

    /// <summary>The real preparer, whose first attempt at one shard fails as a crashed activity would.</summary>
    private sealed class CrashingShardPreparer(int crashingShard) : IShardPreparer
    {
        private readonly ExportDatasetPreparer _inner = new();
        public int[] Attempts { get; } = new int[3];

        public Task<PreparedShard> PrepareShardAsync(string source, PredictionTask task, PrepareOptions options,
            UserShard shard, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref Attempts[shard.Index]) == 1 && shard.Index == crashingShard)
                throw new IOException($"shard {shard} lost its machine");
            return _inner.PrepareShardAsync(source, task, options, shard, cancellationToken);
        }
    }
}
