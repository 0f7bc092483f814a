using System.Text.Json;
using Cronos;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Hosting;

/// <summary>What the retraining timer does when it fires, in both hosts: start one retraining run per configured
/// task, unless a training run is already active.</summary>
public sealed class RetrainingJob(PipelineConfig config, TrainingLauncher launcher, ILogger<RetrainingJob> log,
    Scoring.ScoringJob? scoring = null)
{
    /// <returns>The run ids started (empty when skipped).</returns>
    public async Task<IReadOnlyList<string>> RunAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        var source = config.Retraining.Source;
        // A run that can only fail is not started every night: no source configured (Azure: the RetrainingSource app
        // setting is empty), or a local path that is not there (e.g. the local default .data/default in a package).
        if (string.IsNullOrWhiteSpace(source))
        {
            log.LogWarning("Retraining skipped: no retraining source is configured (retraining.source; RetrainingSource app setting in Azure).");
            return [];
        }
        if (IsLocalPath(source) && !File.Exists(source) && !Directory.Exists(source) && !HasGlob(source))
        {
            log.LogError("Retraining skipped: the retraining source {Source} does not exist here; set retraining.source " +
                         "(RetrainingSource app setting in Azure) to a bq:// or blob:// source.", source);
            return [];
        }
        var started = new List<string>();
        foreach (var taskName in config.Retraining.Tasks)
        {
            if (!PredictionTasks.TryParse(taskName, out var task))
                throw new InvalidInputException($"retraining.tasks: unknown task '{taskName}' (events or churn).");
            var input = ModelConfigs.Resolve(config, new TrainingRequest(source, task));
            // The first run started here counts as active for the next task: start only the first when idle.
            var runId = started.Count == 0
                ? await launcher.StartRetrainingIfIdleAsync(client, input, cancellationToken)
                : await launcher.StartAsync(client, input, cancellationToken: cancellationToken);
            if (runId == null)
            {
                log.LogInformation("Retraining skipped: a training run is active.");
                return started;
            }
            started.Add(runId);
        }
        log.LogInformation("Retraining started: {Runs}", JsonSerializer.Serialize(started));
        // Scoring after the retraining (scoring.after_retraining): its runs wait for these to end.
        if (scoring != null) await scoring.RunAfterRetrainingAsync(client, cancellationToken);
        return started;
    }

    // bq://..., blob://... and generated sources (synthetic:N) are not files.
    private static bool IsLocalPath(string source) => !source.Contains(':', StringComparison.Ordinal);

    private static bool HasGlob(string source) => source.IndexOfAny(['*', '?']) >= 0;
}

/// <summary>The local host's timer: fires <see cref="RetrainingJob"/> on the configured six-field cron (UTC).</summary>
public sealed class RetrainingTimer(PipelineConfig config, RetrainingJob job, DurableTaskClient client,
    TimeProvider clock, ILogger<RetrainingTimer> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CronExpression cron;
        try
        {
            cron = CronExpression.Parse(config.Retraining.Cron, CronFormat.IncludeSeconds);
        }
        catch (CronFormatException e)
        {
            throw new InvalidInputException($"retraining.cron '{config.Retraining.Cron}' is invalid: {e.Message}", e);
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = cron.GetNextOccurrence(clock.GetUtcNow().UtcDateTime);
            if (next is null) return;
            await Task.Delay(next.Value - clock.GetUtcNow().UtcDateTime, clock, stoppingToken);
            try
            {
                await job.RunAsync(client, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Retraining could not start");
            }
        }
    }
}
