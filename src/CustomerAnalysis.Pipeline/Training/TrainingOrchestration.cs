using System.Text.Json;
using CustomerAnalysis.Pipeline.Storage;
using Microsoft.DurableTask;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>
/// prepare → one TrainTrial per grid point (fan-out/fan-in) → best on validation → evaluate on test (with baselines
/// and the production champion) → register → promote if better. Orchestrator code must replay identically: no
/// clocks, GUIDs or I/O here; everything else happens in activities. The instance id is the run id.
/// </summary>
public sealed class TrainingOrchestration : TaskOrchestrator<TrainingInput, TrainingResult>
{
    public const string Name = nameof(TrainingOrchestration);

    /// <summary>Transient failures (storage hiccups, a crashed worker) are retried with exponential back-off.</summary>
    internal static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2.0));

    public override async Task<TrainingResult> RunAsync(TaskOrchestrationContext context, TrainingInput input)
    {
        var runId = context.InstanceId;
        var progress = new TrainingProgress { Stage = TrainingStages.Prepare };
        context.SetCustomStatus(progress);
        try
        {
            var dataset = await context.CallActivityAsync<DatasetReference>(PrepareDatasetActivity.Name,
                new PrepareInput(runId, input.Source, input.Task, input.PrepareOptions), Retry);

            var grid = GridSearch.Expand(input.Grid);
            progress = progress with { Stage = TrainingStages.Train, TrialsTotal = grid.Count };
            context.SetCustomStatus(progress);
            await SetStageAsync(context, runId, TrainingStages.Train);

            var pending = grid.Select((point, i) => context.CallActivityAsync<TrialOutcome>(TrainTrialActivity.Name,
                new TrialInput(runId, GridSearch.TrialId(i), dataset.Blob, point), Retry)).ToList();
            var succeeded = new List<TrialOutcome>();
            while (pending.Count > 0)
            {
                var finished = await Task.WhenAny(pending);
                pending.Remove(finished);
                try
                {
                    succeeded.Add(await finished);
                }
                catch (TaskFailedException)
                {
                    // The activity recorded the trial as failed; the run goes on with the others.
                    progress = progress with { TrialsFailed = progress.TrialsFailed + 1 };
                }
                var best = Best(succeeded, input);
                progress = progress with
                {
                    TrialsDone = progress.TrialsDone + 1,
                    BestTrialId = best?.TrialId,
                    BestValidationMetric = best?.ValidationMetrics[input.Metric],
                };
                context.SetCustomStatus(progress);
            }

            var winner = Best(succeeded, input)
                         ?? throw new InvalidOperationException($"All {grid.Count} trials failed.");

            context.SetCustomStatus(progress with { Stage = TrainingStages.Evaluate });
            await SetStageAsync(context, runId, TrainingStages.Evaluate);
            var evaluation = await context.CallActivityAsync<EvaluateOutput>(EvaluateActivity.Name,
                new EvaluateInput(runId, input.ModelName, dataset.Blob, winner.CheckpointBlob), Retry);

            context.SetCustomStatus(progress with { Stage = TrainingStages.Register });
            var version = await context.CallActivityAsync<int>(RegisterActivity.Name,
                new RegisterInput(runId, input.ModelName, input.Task, winner.CheckpointBlob,
                    evaluation.Challenger.TestMetrics), Retry);

            context.SetCustomStatus(progress with { Stage = TrainingStages.Promote });
            var promotion = await context.CallActivityAsync<PromoteOutput>(PromoteActivity.Name,
                new PromoteInput(input.ModelName, version, input.Metric, input.HigherIsBetter,
                    evaluation.Challenger.TestMetrics, evaluation.Champion), Retry);

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
                Test = evaluation.Challenger.TestMetrics,
                Baselines = evaluation.Challenger.Baselines,
                Champion = evaluation.Champion,
            };
            await context.CallActivityAsync(UpdateRunActivity.Name, new RunUpdate(runId, RunStatus.Completed,
                TrainingStages.Done, winner.TrialId, version, promotion.Promoted,
                JsonSerializer.Serialize(result), null), Retry);
            context.SetCustomStatus(progress with { Stage = TrainingStages.Done });
            return result;
        }
        catch (Exception e) when (e is TaskFailedException or InvalidOperationException)
        {
            var error = e is TaskFailedException failed ? failed.FailureDetails.ErrorMessage : e.Message;
            await context.CallActivityAsync(UpdateRunActivity.Name, new RunUpdate(runId, RunStatus.Failed,
                TrainingStages.Failed, progress.BestTrialId, null, null, null, error), Retry);
            context.SetCustomStatus(progress with { Stage = TrainingStages.Failed });
            throw;
        }
    }

    private static Task SetStageAsync(TaskOrchestrationContext context, string runId, string stage) =>
        context.CallActivityAsync(UpdateRunActivity.Name,
            new RunUpdate(runId, RunStatus.Running, stage, null, null, null, null, null), Retry);

    private static TrialOutcome? Best(IEnumerable<TrialOutcome> trials, TrainingInput input)
    {
        // Ties go to the lower trial id, so the choice does not depend on completion order.
        var ranked = trials.OrderBy(t => t.TrialId, StringComparer.Ordinal).ToList();
        foreach (var t in ranked)
            if (!t.ValidationMetrics.ContainsKey(input.Metric))
                throw new InvalidOperationException(
                    $"Trial {t.TrialId} reported no '{input.Metric}' (it reported: {string.Join(", ", t.ValidationMetrics.Keys)}).");
        return input.HigherIsBetter
            ? ranked.OrderByDescending(t => t.ValidationMetrics[input.Metric]).FirstOrDefault()
            : ranked.OrderBy(t => t.ValidationMetrics[input.Metric]).FirstOrDefault();
    }
}
