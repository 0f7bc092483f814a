using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>What a scoring run is asked for. Null: the default (the task's registry name, its production version,
/// <c>prepare.shards</c>, top 3, a new run id).</summary>
public sealed record ScoringRequest(string Source, PredictionTask Task, string? ModelName = null, int? Version = null,
    int? Shards = null, int? Top = null, string? RunId = null, bool AfterTraining = false, int WaitPollSeconds = 300);

/// <summary>The scoring run exists with another input, or is still running.</summary>
public sealed class ScoringRunConflictException(string message) : Exception(message);

/// <summary>Starts scoring runs (the API, the nightly timer): resolves the model version now and stores the run's
/// input in <c>scores/{run}/run.json</c>. Asked again for an existing run id, it re-runs that run with its stored
/// input (same version, same <c>scored_at</c>): the same parts, manifest and lookups.</summary>
public sealed class ScoringLauncher(PipelineConfig config, ModelRegistry registry, ArtifactStore artifacts, TimeProvider clock)
{
    public const int MaxTop = 50;

    public async Task<string> StartAsync(DurableTaskClient client, ScoringRequest request,
        CancellationToken cancellationToken = default)
    {
        var runId = request.RunId is { } given ? ScoringRunIds.Validate(given) : ScoringRunIds.New(clock.GetUtcNow());
        var stored = await ReadRunAsync(runId, cancellationToken);
        ScoringInput input;
        if (stored != null)
        {
            if (stored.Source != request.Source || stored.Task != request.Task
                || (request.ModelName != null && request.ModelName != stored.Model.Name)
                || (request.Version != null && request.Version != stored.Model.Version))
                throw new ScoringRunConflictException(
                    $"Scoring run '{runId}' exists with another source, task or model; re-running it takes the same ones " +
                    "(or leave run_id out for a new run).");
            var instance = await client.GetInstanceAsync(runId, cancellationToken);
            if (instance is { IsCompleted: false })
                throw new ScoringRunConflictException($"Scoring run '{runId}' is still {instance.RuntimeStatus.ToString().ToLowerInvariant()}.");
            if (instance != null)
                await client.PurgeInstanceAsync(runId, cancellation: cancellationToken);
            input = stored;
        }
        else
        {
            input = await ResolveAsync(request, cancellationToken);
            await artifacts.UploadAsync(ScoringNames.Run(runId), new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(input)),
                cancellationToken);
        }
        return await client.ScheduleNewOrchestrationInstanceAsync(ScoringOrchestration.Name, input,
            new StartOrchestrationOptions(runId), cancellationToken);
    }

    /// <summary>The stored input of a scoring run, or null when there is no such run.</summary>
    public async Task<ScoringInput?> ReadRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var blob = ScoringNames.Run(runId);
        if (!await artifacts.ExistsAsync(blob, cancellationToken)) return null;
        await using var stream = await artifacts.OpenReadAsync(blob, cancellationToken);
        return await JsonSerializer.DeserializeAsync<ScoringInput>(stream, cancellationToken: cancellationToken);
    }

    private async Task<ScoringInput> ResolveAsync(ScoringRequest request, CancellationToken cancellationToken)
    {
        var name = ModelNames.Validate(request.ModelName ?? config.Models.For(request.Task).Name);
        var record = request.Version is { } version
            ? await registry.GetVersionAsync(name, version, cancellationToken)
              ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.")
            : await registry.GetProductionAsync(name, cancellationToken)
              ?? throw new KeyNotFoundException($"Model '{name}' has no production version: train one, or name a version.");
        var taskName = PredictionTasks.Name(request.Task);
        if (record.Task != taskName)
            throw new InvalidInputException($"Model '{name}' v{record.Version} is a {record.Task} model; the run asks for {taskName}.");
        var shards = request.Shards ?? config.Prepare.ValidShards();
        if (shards is < 1 or > Core.Events.UserShard.MaxCount)
            throw new InvalidInputException($"'shards' must be between 1 and {Core.Events.UserShard.MaxCount}, not {shards}.");
        var top = request.Top ?? 3;
        if (top is < 1 or > MaxTop) throw new InvalidInputException($"'top' must be between 1 and {MaxTop}, not {top}.");
        return new ScoringInput
        {
            Source = request.Source, Task = request.Task,
            Model = new ScoringModel(record.Name, record.Version, record.CheckpointBlob),
            Options = PrepareOptions.Default, Shards = shards, Top = top, Created = clock.GetUtcNow(),
            AfterTraining = request.AfterTraining, WaitPollSeconds = request.WaitPollSeconds,
        };
    }
}

public static class ScoringTasks
{
    /// <summary>Adds the scoring orchestration and its activities to a Durable worker.</summary>
    public static DurableTaskRegistry AddScoringTasks(this DurableTaskRegistry tasks) => tasks
        .AddOrchestrator<ScoringOrchestration>()
        .AddActivity<ReadScoringShardActivity>()
        .AddActivity<ScoreShardActivity>()
        .AddActivity<WriteScoringManifestActivity>()
        .AddActivity<TrainingActiveActivity>();
}
