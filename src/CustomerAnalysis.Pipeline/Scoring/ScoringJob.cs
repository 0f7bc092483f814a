using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>The nightly scoring (<c>scoring.after_retraining</c>), started by the retraining timer in both hosts: one
/// scoring run per task, each waiting while a training run is active, so it scores with what the night promoted.</summary>
public sealed class ScoringJob(PipelineConfig config, ScoringLauncher launcher, ILogger<ScoringJob> log)
{
    /// <returns>The scoring run ids started (none when off).</returns>
    public async Task<IReadOnlyList<string>> RunAfterRetrainingAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        var scoring = config.Scoring;
        if (!scoring.AfterRetraining) return [];
        var source = scoring.Source.Length > 0 ? scoring.Source : config.Retraining.Source;
        var tasks = scoring.Tasks.Count > 0 ? scoring.Tasks : config.Retraining.Tasks;
        var started = new List<string>();
        foreach (var taskName in tasks)
        {
            if (!PredictionTasks.TryParse(taskName, out var task))
                throw new InvalidInputException($"scoring.tasks: unknown task '{taskName}' (events or churn).");
            try
            {
                started.Add(await launcher.StartAsync(client, new ScoringRequest(source, task,
                    Shards: scoring.Shards > 0 ? scoring.Shards : null, Top: scoring.Top, AfterTraining: true,
                    WaitPollSeconds: scoring.WaitPollSeconds), cancellationToken));
            }
            catch (KeyNotFoundException e)
            {
                // No production model yet (the first night): nothing to score with.
                log.LogWarning("Scoring of {Task} skipped: {Reason}", taskName, e.Message);
            }
        }
        log.LogInformation("Scoring started after the retraining: {Runs}", string.Join(", ", started));
        return started;
    }
}
