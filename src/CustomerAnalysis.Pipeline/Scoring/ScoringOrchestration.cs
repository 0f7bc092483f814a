using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>
/// A scoring run: (nightly: wait while a training run is active) → one read activity per user shard (each uploads
/// its users' candidates and reports its latest event) → the end of the whole data → one score activity per shard
/// (its Parquet and CSV part and its users' lookups) → the manifest. Deterministic orchestrator code only; the
/// instance id is the scoring run id, and re-running it writes the same blobs and lookups.
/// </summary>
public sealed class ScoringOrchestration : TaskOrchestrator<ScoringInput, ScoringResult>
{
    public const string Name = nameof(ScoringOrchestration);

    /// <summary>How long at most a nightly run waits for the retraining to end (then it scores anyway).</summary>
    internal static readonly TimeSpan TrainingWaitLimit = TimeSpan.FromHours(12);

    public override async Task<ScoringResult> RunAsync(TaskOrchestrationContext context, ScoringInput input)
    {
        var runId = context.InstanceId;
        var retry = TrainingOrchestration.Retry;
        var progress = new ScoringProgress { Stage = ScoringStages.Read, ShardsTotal = input.Shards };
        if (input.AfterTraining)
        {
            context.SetCustomStatus(progress with { Stage = ScoringStages.WaitForTraining });
            var giveUp = context.CurrentUtcDateTime + TrainingWaitLimit;
            while (context.CurrentUtcDateTime < giveUp
                   && await context.CallActivityAsync<bool>(TrainingActiveActivity.Name, runId, retry))
                await context.CreateTimer(TimeSpan.FromSeconds(Math.Max(1, input.WaitPollSeconds)), CancellationToken.None);
        }
        context.SetCustomStatus(progress);

        var reads = Enumerable.Range(0, input.Shards).Select(k => context.CallActivityAsync<ScoringShardReference>(
            ReadScoringShardActivity.Name,
            new ReadScoringShardInput(runId, input.Source, input.Task, input.Options, k, input.Shards, input.Model), retry)).ToList();
        var shards = await WhenEachAsync(reads, count =>
        {
            progress = progress with { ShardsRead = count };
            context.SetCustomStatus(progress);
        });
        var endOfData = ScoringShard.EndOfData(shards.Select(s => s.MaxTimestamp));

        progress = progress with { Stage = ScoringStages.Score };
        context.SetCustomStatus(progress);
        var scoring = Enumerable.Range(0, input.Shards).Select(k => context.CallActivityAsync<ScoredPart>(
            ScoreShardActivity.Name, new ScoreShardInput(runId, input, k, endOfData), retry)).ToList();
        var parts = await WhenEachAsync(scoring, count =>
        {
            progress = progress with { ShardsScored = count };
            context.SetCustomStatus(progress);
        });

        context.SetCustomStatus(progress with { Stage = ScoringStages.Manifest });
        var result = await context.CallActivityAsync<ScoringResult>(WriteScoringManifestActivity.Name,
            new WriteScoringManifestInput(runId, input, endOfData, parts), retry);
        context.SetCustomStatus(progress with { Stage = ScoringStages.Done });
        return result;
    }

    /// <summary>The tasks' results, telling <paramref name="onDone"/> how many have finished as each does (a shard
    /// that failed all its attempts fails the run here).</summary>
    private static async Task<List<T>> WhenEachAsync<T>(List<Task<T>> tasks, Action<int> onDone)
    {
        var pending = tasks.ToList();
        var done = new List<T>();
        while (pending.Count > 0)
        {
            var finished = await Task.WhenAny(pending);
            pending.Remove(finished);
            done.Add(await finished);
            onDone(done.Count);
        }
        return done;
    }
}
