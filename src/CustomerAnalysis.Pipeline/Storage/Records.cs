using System.Text.Json.Serialization;

namespace CustomerAnalysis.Pipeline.Storage;

[JsonConverter(typeof(JsonStringEnumConverter<RunStatus>))]
public enum RunStatus
{
    [JsonStringEnumMemberName("pending")] Pending,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("failed")] Failed,
    /// <summary>Stopped by <c>POST /api/training/{id}/cancel</c>: workers drop its queued work and stop its trials.</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    /// <summary>The search (asha) stopped it at a rung for being weak: finished, with the checkpoint and validation
    /// metrics of its best epoch so far; not a failure.</summary>
    [JsonStringEnumMemberName("stopped")] Stopped,
}

[JsonConverter(typeof(JsonStringEnumConverter<TrialStatus>))]
public enum TrialStatus
{
    /// <summary>Dispatched to the trial queue; no worker has started it yet.</summary>
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    [JsonStringEnumMemberName("failed")] Failed,
    /// <summary>Its run was cancelled before it finished.</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    /// <summary>The search (asha) stopped it at a rung for being weak: finished, with the checkpoint and validation
    /// metrics of its best epoch so far; not a failure.</summary>
    [JsonStringEnumMemberName("stopped")] Stopped,
}

/// <summary>Registry stage of a model version (MLflow's stages).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelStage>))]
public enum ModelStage
{
    None,
    Staging,
    Production,
    Archived,
}

/// <summary>One training run (one orchestration instance; <see cref="RunId"/> is its instance id).</summary>
public sealed record RunRecord
{
    [JsonPropertyName("run_id")] public required string RunId { get; init; }
    [JsonPropertyName("status")] public RunStatus Status { get; init; }
    [JsonPropertyName("stage")] public string? Stage { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("model_name")] public required string ModelName { get; init; }
    /// <summary>The training request as JSON (grid, options, metric).</summary>
    [JsonPropertyName("config")] public string? ConfigJson { get; init; }
    [JsonPropertyName("created_at")] public DateTimeOffset CreatedAt { get; init; }
    [JsonPropertyName("completed_at")] public DateTimeOffset? CompletedAt { get; init; }
    [JsonPropertyName("best_trial_id")] public string? BestTrialId { get; init; }
    [JsonPropertyName("model_version")] public int? ModelVersion { get; init; }
    [JsonPropertyName("promoted")] public bool? Promoted { get; init; }
    /// <summary>Test metrics and baselines as JSON.</summary>
    [JsonPropertyName("result")] public string? ResultJson { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}

public sealed record EpochMetrics(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("metrics")] IReadOnlyDictionary<string, double> Metrics);

/// <summary>One grid point of a run. (<see cref="RunId"/>, <see cref="TrialId"/>) is unique: a trial that ran twice
/// leaves one record.</summary>
public sealed record TrialRecord
{
    [JsonPropertyName("run_id")] public required string RunId { get; init; }
    [JsonPropertyName("trial_id")] public required string TrialId { get; init; }
    [JsonPropertyName("params")] public required IReadOnlyDictionary<string, System.Text.Json.JsonElement> Params { get; init; }
    [JsonPropertyName("status")] public TrialStatus Status { get; init; }
    [JsonPropertyName("attempts")] public int Attempts { get; init; }
    [JsonPropertyName("epochs")] public IReadOnlyList<EpochMetrics> Epochs { get; init; } = [];
    [JsonPropertyName("validation_metrics")] public IReadOnlyDictionary<string, double> ValidationMetrics { get; init; } =
        new Dictionary<string, double>();
    [JsonPropertyName("checkpoint_blob")] public string? CheckpointBlob { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("updated_at")] public DateTimeOffset? UpdatedAt { get; init; }
    /// <summary>The worker that ran (or runs) the latest attempt.</summary>
    [JsonPropertyName("worker")] public string? Worker { get; init; }
    /// <summary>Status <see cref="TrialStatus.Stopped"/>: the rung epoch it was stopped at.</summary>
    [JsonPropertyName("stopped_at_epoch")] public int? StoppedAtEpoch { get; init; }

    /// <summary>Ended with a model (succeeded, or stopped by the search at a rung).</summary>
    [JsonIgnore] public bool HasModel => Status is TrialStatus.Succeeded or TrialStatus.Stopped;

    [JsonIgnore] public bool IsFinished => Status is TrialStatus.Succeeded or TrialStatus.Failed or TrialStatus.Cancelled or TrialStatus.Stopped;
}

/// <summary>A registered model version.</summary>
public sealed record ModelVersionRecord
{
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("version")] public required int Version { get; init; }
    [JsonPropertyName("run_id")] public required string RunId { get; init; }
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("stage")] public ModelStage Stage { get; init; }
    [JsonPropertyName("aliases")] public IReadOnlyList<string> Aliases { get; init; } = [];
    [JsonPropertyName("checkpoint_blob")] public required string CheckpointBlob { get; init; }
    [JsonPropertyName("test_metrics")] public IReadOnlyDictionary<string, double> TestMetrics { get; init; } =
        new Dictionary<string, double>();
    [JsonPropertyName("created_at")] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>Why its run did not promote it (it does not beat a baseline); null when nothing held it back.
    /// Promoting such a version by hand needs <c>"force": true</c>.</summary>
    [JsonPropertyName("held_back")] public string? HeldBack { get; init; }
    /// <summary>Every stage change of this version, oldest first (the registry's list routes fill it).</summary>
    [JsonPropertyName("stage_history")] public IReadOnlyList<StageChange> StageHistory { get; init; } = [];
}

/// <summary>One stage change of a model version: from and to which stage, by whom (the caller the API route
/// identifies, or <c>system</c> for a run's promotion gate), when and why (optional).</summary>
public sealed record StageChange
{
    [JsonPropertyName("from")] public ModelStage From { get; init; }
    [JsonPropertyName("to")] public ModelStage To { get; init; }
    [JsonPropertyName("by")] public required string By { get; init; }
    [JsonPropertyName("at")] public DateTimeOffset At { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
}
