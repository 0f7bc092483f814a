using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>Starts training runs: records the run as pending, then schedules the orchestration with the run id as
/// its instance id. Used by the HTTP API, the retraining timer and <c>ca run</c>.</summary>
public sealed class TrainingLauncher(RunStore runs, TimeProvider clock)
{
    public async Task<string> StartAsync(DurableTaskClient client, TrainingInput input, string? runId = null,
        CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        runId ??= $"{now:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..24];
        await runs.UpsertRunAsync(new RunRecord
        {
            RunId = runId,
            Status = RunStatus.Pending,
            Stage = TrainingStages.Prepare,
            Source = input.Source,
            Task = PredictionTasks.Name(input.Task),
            ModelName = input.ModelName,
            ConfigJson = JsonSerializer.Serialize(input),
            CreatedAt = now,
        }, cancellationToken);
        return await client.ScheduleNewOrchestrationInstanceAsync(TrainingOrchestration.Name, input,
            new StartOrchestrationOptions(runId), cancellationToken);
    }

    /// <summary>Starts a retraining run unless a training run is pending or running (the timer's rule: one at a
    /// time). Returns the new run id, or null when skipped.</summary>
    public async Task<string?> StartRetrainingIfIdleAsync(DurableTaskClient client, TrainingInput input,
        CancellationToken cancellationToken = default)
    {
        var active = client.GetAllInstancesAsync(new OrchestrationQuery
        {
            Statuses = [OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running],
        });
        await foreach (var instance in active.WithCancellation(cancellationToken))
            if (instance.Name == TrainingOrchestration.Name)
                return null;
        return await StartAsync(client, input, cancellationToken: cancellationToken);
    }
}
