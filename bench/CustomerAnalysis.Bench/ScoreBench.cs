using System.Diagnostics;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Models;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Serving.Scoring;
using TorchSharp;

namespace CustomerAnalysis.Bench;

/// <summary>
/// <c>bench score</c>: batch scoring end to end as <c>ca score</c> runs it (read the export shard by shard, find the
/// candidates, score them in length-bucketed batches on one torch thread, write the Parquet and CSV parts and the
/// manifest) on a synthetic export, with the task's default model config (untrained weights: inference costs the
/// same). Reports users/s over the users in the export (the goal: 20,000 users/s on 2 cores), the stages' split, and
/// the machine's load average (the machine may be shared).
/// </summary>
internal static class ScoreBench
{
    public static async Task<int> RunAsync(long events, PredictionTask task, string config, int shards, int runs)
    {
        var root = Directory.CreateTempSubdirectory("ca-bench-score-").FullName;
        try
        {
            var export = Path.Combine(root, "export");
            var made = await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = export, Events = events, Seed = 42 });
            Console.WriteLine($"synthetic export: {made.Events:N0} events, {made.Users:N0} users, {made.Sessions:N0} sessions");

            // The model: the config's architecture over the export's event names (the vocabulary a training run would build).
            var nn = NnConfig.Load(config).WithOverrides(new Dictionary<string, System.Text.Json.Nodes.JsonNode>
            {
                ["task"] = PredictionTasks.Name(task), ["device"] = "cpu",
            });
            var names = (await EventSources.Open(export).ReadTableAsync()).EventNames;
            var vocabulary = new Vocabulary([Vocabulary.PadToken, Vocabulary.UnkToken, .. names.Order(StringComparer.Ordinal)]);
            var checkpointPath = Path.Combine(root, "model.ckpt");
            using (var model = ModelFactory.Create(nn, task, vocabulary.Count, seed: 1, torch.CPU))
            await using (var file = File.Create(checkpointPath))
                new ModelCheckpoint(nn, vocabulary, model).Write(file);

            using var scorer = new TorchBatchScorer();
            for (var run = 1; run <= runs; run++)
            {
                var stages = new Dictionary<string, TimeSpan>();
                var clock = Stopwatch.StartNew();
                var manifest = await FolderScoring.RunAsync(scorer, new FolderScoring.Request(EventSources.Open(export), export,
                    task, PrepareOptions.Default, shards, checkpointPath, new ScoringModel("bench", 1, "model.ckpt"), 3,
                    "bench", DateTimeOffset.UtcNow, Path.Combine(root, "scores")), text =>
                {
                    stages[text] = clock.Elapsed;
                });
                clock.Stop();
                var read = stages.Where(s => s.Key.EndsWith(" read", StringComparison.Ordinal)).Max(s => s.Value);
                var seconds = clock.Elapsed.TotalSeconds;
                var bytes = Directory.GetFiles(Path.Combine(root, "scores")).Sum(f => new FileInfo(f).Length);
                Console.WriteLine($"run {run}: {PredictionTasks.Name(task)}, {Path.GetFileName(config)}, {shards} shard(s): " +
                                  $"{manifest.Counts.Users:N0} users ({manifest.Rows:N0} scored) in {seconds:F2} s = " +
                                  $"{manifest.Counts.Users / seconds:N0} users/s end to end ({manifest.Rows / seconds:N0} scored/s); " +
                                  $"read+candidates {read.TotalSeconds:F2} s, score+write {seconds - read.TotalSeconds:F2} s; " +
                                  $"parts {bytes / 1e6:F1} MB; {Environment.ProcessorCount} cores, load average {LoadAverage()}; " +
                                  $"peak memory {PeakMemory.Megabytes():F0} MB");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
