using System.Text.Json;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Workers;
using Microsoft.DurableTask;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>
/// prepare → one trial per grid point dispatched to the trial workers (fan-out; completions fan back in as external
/// events) → best on validation → evaluation on test by a worker (with baselines and the production champion) →
/// register → promote if it beats the best baseline and the production model. Orchestrator code must replay identically: no
/// clocks, GUIDs or I/O here; everything else happens in activities. The instance id is the run id.
/// </summary>
public sealed class TrainingOrchestration : TaskOrchestrator<TrainingInput, TrainingResult>
{
    public const string Name = nameof(TrainingOrchestration);

    /// <summary>Transient failures (storage hiccups, a crashed worker) are retried with exponential back-off; bad input
    /// (<see cref="Core.InvalidInputException"/>: a missing source, a wrong config) fails the same way every time, so
    /// it is not retried.</summary>
    internal static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2.0)
    {
        HandleFailure = failure => !failure.IsCausedBy<Core.InvalidInputException>(),
    });

    public override async Task<TrainingResult> RunAsync(TaskOrchestrationContext context, TrainingInput input)
    {
        var runId = context.InstanceId;
        var progress = new TrainingProgress { Stage = TrainingStages.Prepare };
        context.SetCustomStatus(progress);
        try
        {
            DatasetReference dataset;
            if (input.Shards <= 1)
                dataset = await context.CallActivityAsync<DatasetReference>(PrepareDatasetActivity.Name,
                    new PrepareInput(runId, input.Source, input.Task, input.PrepareOptions), Retry);
            else
                (dataset, progress) = await PrepareShardedAsync(context, runId, input, progress);

            var plan = TrainingPlan.From(input);
            var grid = plan.Trials;
            progress = progress with { Stage = TrainingStages.Train, TrialsTotal = grid.Count };
            context.SetCustomStatus(progress);
            await SetStageAsync(context, runId, TrainingStages.Train);

            // Fan out: every trial goes on the trial queue at once; the workers train them, as many at a time as
            // there are workers, and each completion comes back as an external event.
            await Task.WhenAll(grid.Select(trial => context.CallActivityAsync<bool>(DispatchTrialActivity.Name,
                new TrialInput(runId, trial.TrialId, dataset.Blob, input.ModelConfig, trial.Params, trial.Seed), Retry)));
            var succeeded = new List<TrialOutcome>();
            await WaitForWorkAsync(context, runId, grid.Select(t => t.TrialId).ToList(), input.Wait, completion =>
            {
                if (completion is { Succeeded: true, Trial: { } outcome })
                    succeeded.Add(outcome);
                else
                    progress = progress with { TrialsFailed = progress.TrialsFailed + 1 };
                var best = Best(succeeded, plan);
                progress = progress with
                {
                    TrialsDone = progress.TrialsDone + 1,
                    BestTrialId = best?.TrialId,
                    BestValidationMetric = best != null && best.ValidationMetrics.TryGetValue(plan.Metric, out var score)
                        ? score
                        : null,
                };
                context.SetCustomStatus(progress);
            });

            var winner = Best(succeeded, plan)
                         ?? throw new InvalidOperationException($"All {grid.Count} trials failed.");

            context.SetCustomStatus(progress with { Stage = TrainingStages.Evaluate });
            await SetStageAsync(context, runId, TrainingStages.Evaluate);
            await context.CallActivityAsync<bool>(DispatchEvaluationActivity.Name,
                new EvaluateInput(runId, input.ModelName, dataset.Blob, winner.CheckpointBlob), Retry);
            EvaluateOutput? evaluation = null;
            string? evaluationError = null;
            await WaitForWorkAsync(context, runId, [WorkEvents.EvaluationId], input.Wait, completion =>
            {
                evaluation = completion.Evaluation;
                evaluationError = completion.Error;
            });
            if (evaluation is null)
                throw new InvalidOperationException($"The evaluation failed: {evaluationError}");

            context.SetCustomStatus(progress with { Stage = TrainingStages.Register });
            var version = await context.CallActivityAsync<int>(RegisterActivity.Name,
                new RegisterInput(runId, input.ModelName, input.Task, winner.CheckpointBlob,
                    evaluation.Challenger.TestMetrics), Retry);

            context.SetCustomStatus(progress with { Stage = TrainingStages.Promote });
            var promotion = await context.CallActivityAsync<PromoteOutput>(PromoteActivity.Name,
                new PromoteInput(input.ModelName, version, plan.Metric,
                    evaluation.Challenger.TestMetrics, evaluation.Champion, evaluation.Challenger.Baselines), Retry);

            var result = new TrainingResult
            {
                RunId = runId,
                ModelName = input.ModelName,
                ModelVersion = version,
                Promoted = promotion.Promoted,
                PromotionReason = promotion.Reason,
                BestTrialId = winner.TrialId,
                TrialsSucceeded = succeeded.Count,
                TrialsFailed = progress.TrialsFailed,
                TrialsStopped = succeeded.Count(t => t.StoppedAtEpoch is not null),
                Test = evaluation.Challenger.TestMetrics,
                Validation = winner.ValidationMetrics,
                Baselines = evaluation.Challenger.Baselines,
                Champion = evaluation.Champion,
            };
            await context.CallActivityAsync(UpdateRunActivity.Name, new RunUpdate(runId, RunStatus.Completed,
                TrainingStages.Done, winner.TrialId, version, promotion.Promoted,
                JsonSerializer.Serialize(result), null), Retry);
            context.SetCustomStatus(progress with { Stage = TrainingStages.Done });
            return result;
        }
        catch (Exception e) when (e is TaskFailedException or InvalidOperationException or Core.InvalidInputException)
        {
            var error = e is TaskFailedException failed ? failed.FailureDetails.ErrorMessage : e.Message;
            await context.CallActivityAsync(UpdateRunActivity.Name, new RunUpdate(runId, RunStatus.Failed,
                TrainingStages.Failed, progress.BestTrialId, null, null, null, error), Retry);
            context.SetCustomStatus(progress with { Stage = TrainingStages.Failed });
            throw;
        }
    }

    /// <summary>Fans out one prepare activity per user shard (each writes its part to Blob), counting them done in the
    /// custom status as they finish, then merges the parts into the dataset the trials read.</summary>
    private static async Task<(DatasetReference, TrainingProgress)> PrepareShardedAsync(TaskOrchestrationContext context,
        string runId, TrainingInput input, TrainingProgress progress)
    {
        progress = progress with { ShardsTotal = input.Shards };
        context.SetCustomStatus(progress);
        var pending = Enumerable.Range(0, input.Shards)
            .Select(k => context.CallActivityAsync<ShardReference>(PrepareShardActivity.Name,
                new PrepareShardInput(runId, input.Source, input.Task, input.PrepareOptions, k, input.Shards), Retry))
            .ToList();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            await done; // a shard that failed all its attempts fails the run here
            progress = progress with { ShardsDone = progress.ShardsDone + 1 };
            context.SetCustomStatus(progress);
        }
        var dataset = await context.CallActivityAsync<DatasetReference>(MergeShardsActivity.Name,
            new MergeShardsInput(runId, input.Shards), Retry);
        return (dataset, progress);
    }

    /// <summary>Waits for the completions of <paramref name="workIds"/> (external events raised by the completion
    /// relay), calling <paramref name="onCompleted"/> once per work id in the order they end. Durable timers bound the
    /// wait: after <see cref="WorkWait.CheckInterval"/> without news the records are read instead, and at
    /// <see cref="WorkWait.Deadline"/> what is left is recorded failed.</summary>
    private static async Task WaitForWorkAsync(TaskOrchestrationContext context, string runId,
        IReadOnlyList<string> workIds, WorkWait wait, Action<WorkCompletion> onCompleted)
    {
        var deadline = context.CurrentUtcDateTime + wait.Deadline;
        var pending = workIds.ToDictionary(id => id,
            id => context.WaitForExternalEvent<WorkCompletion>(WorkEvents.Name(id)), StringComparer.Ordinal);
        void Complete(WorkCompletion completion)
        {
            // The first word on a work item counts; later ones (a relayed duplicate, the record check) are ignored.
            if (pending.Remove(completion.WorkId)) onCompleted(completion);
        }

        while (pending.Count > 0)
        {
            using var timerCancellation = new CancellationTokenSource();
            var next = context.CurrentUtcDateTime + wait.CheckInterval;
            var timer = context.CreateTimer(next < deadline ? next : deadline, timerCancellation.Token);
            var finished = await Task.WhenAny(pending.Values.Cast<Task>().Append(timer));
            if (finished != timer)
            {
                timerCancellation.Cancel();
                Complete(await (Task<WorkCompletion>)finished);
                continue;
            }
            var giveUp = context.CurrentUtcDateTime >= deadline;
            var found = await context.CallActivityAsync<IReadOnlyList<WorkCompletion>>(CheckWorkActivity.Name,
                new CheckWorkInput(runId, pending.Keys.Order(StringComparer.Ordinal).ToList(), giveUp), Retry);
            foreach (var completion in found)
                Complete(completion);
        }
    }

    private static Task SetStageAsync(TaskOrchestrationContext context, string runId, string stage) =>
        context.CallActivityAsync(UpdateRunActivity.Name,
            new RunUpdate(runId, RunStatus.Running, stage, null, null, null, null, null), Retry);

    private static TrialOutcome? Best(IEnumerable<TrialOutcome> trials, TrainingPlan plan)
    {
        // Ties go to the lower trial id, so the choice does not depend on completion order. A trial whose metric is
        // undefined (NaN, e.g. ROC-AUC on a one-class validation split, left out of its metrics) ranks last.
        TrialOutcome? best = null;
        foreach (var t in trials.OrderBy(t => t.TrialId, StringComparer.Ordinal))
            if (best is null || Core.Evaluation.MetricNames.IsBetter(plan.Metric, Score(t), Score(best)))
                best = t;
        return best;

        // The trial's selection score (validation_selection over the users' and the last days' splits) when it
        // reports one, which has the grid metric's direction; else the grid metric.
        double Score(TrialOutcome t) => t.ValidationMetrics.TryGetValue(TrialResult.SelectionScoreKey, out var selection)
            ? selection
            : t.ValidationMetrics.GetValueOrDefault(plan.Metric, double.NaN);
    }
}
