using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;

namespace CustomerAnalysis.Pipeline.Training;

// Orchestration and activity payloads. They hold blob names and small metrics, never datasets or weights
// (Durable messages travel over gRPC, capped at 4 MB).

/// <summary>Input of <see cref="TrainingOrchestration"/>; the orchestration instance id is the run id.</summary>
public sealed record TrainingInput
{
    /// <summary>What <c>ca prepare --input</c> accepts, or <c>blob://container/prefix</c>.</summary>
    public required string Source { get; init; }
    public required PredictionTask Task { get; init; }
    /// <summary>Registry model name (e.g. <c>next-event</c>).</summary>
    public required string ModelName { get; init; }
    /// <summary>The full model config (NnConfig JSON: <c>config/nn/&lt;model&gt;.json</c> with the request's overrides,
    /// resolved at launch). The one source of the grid, the ranking metric (<c>grid_search_metric</c>) and the churn
    /// threshold (<c>prob_threshold</c>). See <see cref="TrainingPlan"/>.</summary>
    public required string ModelConfig { get; init; }
    public PrepareOptions PrepareOptions { get; init; } = PrepareOptions.Default;
    /// <summary>User shards the prepare is cut into (pipeline config <c>prepare.shards</c>): 1 prepares in one
    /// activity; N &gt; 1 runs one activity per shard, each reading only its users, and merges their parts. The
    /// dataset is the same either way.</summary>
    public int Shards { get; init; } = 1;
    /// <summary>How the orchestration waits for the trial workers (from the pipeline config's <c>workers</c>).</summary>
    public WorkWait Wait { get; init; } = new();
}

/// <summary>How long the orchestration waits for trial workers.</summary>
/// <param name="CheckInterval">Without a completion for this long, the trial records are checked instead (the
/// fallback for a lost completion message).</param>
/// <param name="Deadline">Work not finished this long after it was dispatched is recorded failed and the run goes on
/// without it (e.g. no worker is running at all).</param>
public sealed record WorkWait(TimeSpan CheckInterval, TimeSpan Deadline)
{
    public WorkWait() : this(TimeSpan.FromMinutes(1), TimeSpan.FromHours(24)) { }
}

public sealed record CheckWorkInput(string RunId, IReadOnlyList<string> WorkIds, bool GiveUp);

/// <summary>The live progress of a run (the orchestration's custom status).</summary>
public sealed record TrainingProgress
{
    [JsonPropertyName("stage")] public required string Stage { get; init; }
    [JsonPropertyName("trials_done")] public int TrialsDone { get; init; }
    [JsonPropertyName("trials_failed")] public int TrialsFailed { get; init; }
    [JsonPropertyName("trials_total")] public int TrialsTotal { get; init; }
    [JsonPropertyName("best_trial_id")] public string? BestTrialId { get; init; }
    [JsonPropertyName("best_validation_metric")] public double? BestValidationMetric { get; init; }
    /// <summary>A sharded prepare: shard activities finished, of <see cref="ShardsTotal"/> (0 when unsharded).</summary>
    [JsonPropertyName("shards_done")] public int ShardsDone { get; init; }
    [JsonPropertyName("shards_total")] public int ShardsTotal { get; init; }
}

/// <summary>Stages shown in <see cref="TrainingProgress.Stage"/> and the run record.</summary>
public static class TrainingStages
{
    public const string Prepare = "prepare";
    public const string Train = "train";
    public const string Evaluate = "evaluate";
    public const string Register = "register";
    public const string Promote = "promote";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
}

/// <summary>The order a run's record moves in: prepare &lt; train &lt; evaluate &lt; register &lt; promote &lt; an end
/// (done, failed, cancelled), and pending &lt; running &lt; an ended status. Activities run at least once, so an earlier
/// update can be delivered again after a later one; applied only when it moves the record forward (or keeps it),
/// it can never take a run back, and the runs list agrees with the run's own status.</summary>
public static class RunProgress
{
    public static bool HasEnded(RunStatus status) => status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled;

    /// <summary>Whether moving <paramref name="current"/> to (<paramref name="status"/>, <paramref name="stage"/>)
    /// goes forward or stays: never out of an ended run, never to an earlier stage, never back to pending.</summary>
    public static bool MovesForward(RunRecord current, RunStatus status, string stage)
    {
        if (HasEnded(current.Status)) return false;
        var (from, to) = (Rank(current.Stage), Rank(stage));
        return to != from ? to > from : status >= current.Status; // enum order: pending < running < the ends
    }

    private static int Rank(string? stage) => stage switch
    {
        TrainingStages.Train => 1,
        TrainingStages.Evaluate => 2,
        TrainingStages.Register => 3,
        TrainingStages.Promote => 4,
        TrainingStages.Done or TrainingStages.Failed or TrainingStages.Cancelled => 5,
        _ => 0, // prepare (and a record without a stage)
    };
}

public sealed record PrepareInput(string RunId, string Source, PredictionTask Task, PrepareOptions Options);

public sealed record DatasetReference(string Blob, int Train, int Validation, int Test);

/// <summary>Prepare shard <paramref name="Shard"/> of <paramref name="Shards"/>.</summary>
public sealed record PrepareShardInput(string RunId, string Source, PredictionTask Task, PrepareOptions Options, int Shard,
    int Shards);

/// <param name="Sequences">Sequences of the shard before censoring.</param>
public sealed record ShardReference(string Blob, int Shard, int Sequences);

public sealed record MergeShardsInput(string RunId, int Shards);

public sealed record TrialInput(
    string RunId, string TrialId, string DatasetBlob, string ModelConfig, IReadOnlyDictionary<string, JsonElement> Params,
    int Seed);

public sealed record TrialOutcome(
    string TrialId, IReadOnlyDictionary<string, double> ValidationMetrics, string CheckpointBlob)
{
    /// <summary>Stopped by asha at this rung epoch (a weak trial; its model still counts); null: ran to its end.</summary>
    public int? StoppedAtEpoch { get; init; }
}

public sealed record EvaluateInput(string RunId, string ModelName, string DatasetBlob, string CheckpointBlob);

/// <param name="Champion">The production model scored on this run's test split; null when there is none.</param>
public sealed record EvaluateOutput(EvaluationResult Challenger, ChampionScore? Champion);

public sealed record ChampionScore(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("test_metrics")] IReadOnlyDictionary<string, double> TestMetrics);

public sealed record RegisterInput(
    string RunId, string ModelName, PredictionTask Task, string CheckpointBlob, IReadOnlyDictionary<string, double> TestMetrics);

/// <param name="Baselines">The baselines scored on the same test split (name → metrics); the challenger must beat the
/// best of them on <paramref name="Metric"/> to be promoted. Null (an input from before baselines were carried): none.</param>
public sealed record PromoteInput(
    string ModelName, int Version, string Metric,
    IReadOnlyDictionary<string, double> ChallengerMetrics, ChampionScore? Champion,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? Baselines = null);

public sealed record PromoteOutput(bool Promoted, string Reason);

public sealed record RunUpdate(
    string RunId, RunStatus Status, string Stage, string? BestTrialId, int? ModelVersion, bool? Promoted,
    string? ResultJson, string? Error);

/// <summary>Output of <see cref="TrainingOrchestration"/>.</summary>
public sealed record TrainingResult
{
    [JsonPropertyName("run_id")] public required string RunId { get; init; }
    [JsonPropertyName("model_name")] public required string ModelName { get; init; }
    [JsonPropertyName("model_version")] public required int ModelVersion { get; init; }
    [JsonPropertyName("promoted")] public required bool Promoted { get; init; }
    [JsonPropertyName("promotion_reason")] public required string PromotionReason { get; init; }
    [JsonPropertyName("best_trial_id")] public required string BestTrialId { get; init; }
    [JsonPropertyName("trials_succeeded")] public required int TrialsSucceeded { get; init; }
    [JsonPropertyName("trials_failed")] public required int TrialsFailed { get; init; }
    /// <summary>Trials the search (asha) stopped at a rung: counted in <see cref="TrialsSucceeded"/> too.</summary>
    [JsonPropertyName("trials_stopped")] public int TrialsStopped { get; init; }
    [JsonPropertyName("test")] public required IReadOnlyDictionary<string, double> Test { get; init; }
    /// <summary>The best trial's validation metrics: the held-out users' split, the last days' split
    /// (<c>recent_*</c>) and the <c>selection_score</c> it was chosen on (<see cref="TrialResult"/>).</summary>
    [JsonPropertyName("validation")] public IReadOnlyDictionary<string, double> Validation { get; init; } = new Dictionary<string, double>();
    [JsonPropertyName("baselines")] public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Baselines { get; init; }
    [JsonPropertyName("champion")] public ChampionScore? Champion { get; init; }
}
