using System.Diagnostics;
using System.Text.Json;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Bench;

/// <summary>One activity's measurement, printed by the child process as one JSON line.</summary>
internal sealed record ShardStepResult(string Step, int Shard, int Shards, double Seconds, double PeakMegabytes, long Sequences);

/// <summary>
/// <c>bench prepare-shards</c>: the pipeline's sharded prepare as its activities run it, each in a fresh child process
/// (peak = VmHWM of that process alone): for N in the list, every shard activity (read the whole export keeping the
/// shard's users, prepare, write its part as the activity's gzipped JSON) one after the other, then the merge
/// activity (read the parts, merge, write the dataset blob). N = 1 is the unsharded prepare activity. After the first
/// N, a trial's footprint: a process reading the dataset blob, as a trial worker does before it trains.
/// </summary>
internal static class PrepareShardsBench
{
    /// <param name="sampleShards">Measure only the first this many shards of each N (no merge then), when all of
    /// them would take too long: a shard's peak depends on its share of the users, not on which shard it is; the total
    /// time is then estimated as their mean times N.</param>
    public static int Run(string input, PredictionTask task, IReadOnlyList<int> shardCounts, int? sampleShards = null)
    {
        var folder = Directory.CreateTempSubdirectory("ca-bench-shards-").FullName;
        try
        {
            Console.WriteLine($"prepare --task {PredictionTasks.Name(task)} on {input}, one process per activity");
            double? unshardedPeak = null, unshardedSeconds = null;
            foreach (var n in shardCounts)
            {
                var steps = new List<ShardStepResult>();
                if (n == 1)
                    steps.Add(Child("whole", input, task, 0, 1, folder));
                else
                {
                    var measured = Math.Min(n, sampleShards ?? n);
                    for (var k = 0; k < measured; k++) steps.Add(Child("shard", input, task, k, n, folder));
                    if (measured == n) steps.Add(Child("merge", input, task, 0, n, folder));
                }
                var shardSteps = steps.Where(s => s.Step != "merge").ToList();
                var sampled = n > 1 && shardSteps.Count < n;
                var total = sampled ? shardSteps.Average(s => s.Seconds) * n : steps.Sum(s => s.Seconds);
                var peakShard = shardSteps.Max(s => s.PeakMegabytes);
                var merge = steps.FirstOrDefault(s => s.Step == "merge");
                if (n == 1) (unshardedPeak, unshardedSeconds) = (peakShard, total);
                Console.WriteLine($"  N={n,2}: " + (sampled ? $"(shards 0-{shardSteps.Count - 1} of {n} measured, no merge; time = their mean × N) " : "") +
                                  $"largest shard activity peak {peakShard,6:F0} MB (mean {shardSteps.Average(s => s.PeakMegabytes),6:F0} MB, " +
                                  $"{shardSteps.Average(s => s.Seconds),5:F2} s)" +
                                  (merge is null ? "" : $", merge peak {merge.PeakMegabytes,6:F0} MB ({merge.Seconds:F2} s)") +
                                  $", all {(sampled ? "shard " : "")}activities one after another {total,6:F2} s, {steps[^1].Sequences:N0} sequences" +
                                  (unshardedPeak is { } p && n > 1
                                      ? $"; vs unsharded: peak ×{peakShard / p:F2} (1/N = {1.0 / n:F3}), time ×{total / unshardedSeconds!.Value:F2}"
                                      : ""));
                if (n == shardCounts[0] && File.Exists(DatasetPath(folder)))
                {
                    var trial = Child("trial", input, task, 0, n, folder);
                    Console.WriteLine($"  a trial reading the dataset blob (its {trial.Sequences:N0} sequences, all splits): peak {trial.PeakMegabytes:F0} MB, {trial.Seconds:F2} s");
                }
            }
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The child's entry point: one activity, measured.</summary>
    public static int RunStep(string step, string input, PredictionTask task, int shard, int shards, string folder)
    {
        var clock = Stopwatch.StartNew();
        long sequences;
        if (step == "merge")
        {
            var parts = new List<PreparedShard>();
            for (var k = 0; k < shards; k++)
            {
                using var stream = File.OpenRead(PartPath(folder, k, shards));
                parts.Add(DatasetBlobFormat.ReadShardAsync(stream).GetAwaiter().GetResult());
            }
            var dataset = DatasetPreparer.Merge(parts);
            using var output = new MemoryStream();
            DatasetBlobFormat.WriteAsync(dataset, output).GetAwaiter().GetResult();
            File.WriteAllBytes(DatasetPath(folder), output.ToArray());
            sequences = dataset.Summary.Sequences;
        }
        else if (step == "trial")
        {
            // What a trial worker holds before it trains: the run's dataset blob, downloaded and read once.
            using var stream = File.OpenRead(DatasetPath(folder));
            var dataset = DatasetBlobFormat.ReadAsync(stream).GetAwaiter().GetResult();
            sequences = dataset.Summary.Sequences;
        }
        else
        {
            var userShard = new UserShard(shard, shards);
            var table = EventSources.Open(input).ReadShardAsync(userShard).GetAwaiter().GetResult();
            using var buffer = new MemoryStream(); // as the activity buffers its upload
            if (step == "whole")
            {
                var dataset = DatasetPreparer.Prepare(table, task, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
                DatasetBlobFormat.WriteAsync(dataset, buffer).GetAwaiter().GetResult();
                File.WriteAllBytes(DatasetPath(folder), buffer.ToArray());
                sequences = dataset.Summary.Sequences;
            }
            else
            {
                var part = DatasetPreparer.PrepareShard(table, task, PrepareOptions.Default, DatasetPreparer.DefaultProtocol, userShard);
                DatasetBlobFormat.WriteShardAsync(part, buffer).GetAwaiter().GetResult();
                File.WriteAllBytes(PartPath(folder, shard, shards), buffer.ToArray());
                sequences = part.Sequences.Count;
            }
        }
        clock.Stop();
        Console.WriteLine(JsonSerializer.Serialize(new ShardStepResult(step, shard, shards, clock.Elapsed.TotalSeconds,
            PeakMemory.Megabytes(), sequences)));
        return 0;
    }

    /// <summary>The dataset blob the last whole or merge step wrote (every N gives the same dataset).</summary>
    private static string DatasetPath(string folder) => Path.Combine(folder, "dataset.json.gz");

    private static string PartPath(string folder, int shard, int shards) => Path.Combine(folder, $"{shard}-of-{shards}.json.gz");

    private static ShardStepResult Child(string step, string input, PredictionTask task, int shard, int shards, string folder)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add(typeof(PrepareShardsBench).Assembly.Location);
        foreach (var arg in new[]
                 {
                     "prepare-shard-step", "--step", step, "--input", input, "--task", PredictionTasks.Name(task),
                     "--shard", shard.ToString(), "--shards", shards.ToString(), "--folder", folder,
                 })
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"{step} {shard}/{shards} failed: {error}");
        return JsonSerializer.Deserialize<ShardStepResult>(output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!;
    }
}
