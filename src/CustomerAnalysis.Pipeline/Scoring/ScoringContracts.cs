using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Pipeline.Scoring;

// Payloads of ScoringOrchestration and its activities: blob names and counts, never the users or the weights.

/// <summary>Input of <see cref="ScoringOrchestration"/>, fixed when the run is created (stored in
/// <c>scores/{run}/run.json</c>), so re-running the run id scores with the same model version and writes the same
/// rows. The instance id is the scoring run id.</summary>
public sealed record ScoringInput
{
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("task")] public required PredictionTask Task { get; init; }
    [JsonPropertyName("model")] public required ScoringModel Model { get; init; }
    [JsonPropertyName("options")] public PrepareOptions Options { get; init; } = PrepareOptions.Default;
    [JsonPropertyName("shards")] public int Shards { get; init; } = 1;
    [JsonPropertyName("top")] public int Top { get; init; } = 3;
    /// <summary>When the run was created: every row's <c>scored_at</c>, and the order of runs for the lookups.</summary>
    [JsonPropertyName("created")] public required DateTimeOffset Created { get; init; }
    /// <summary>Started by the nightly timer: waits while a training run is active, so it scores with the model the
    /// night's retraining promoted.</summary>
    [JsonPropertyName("after_training")] public bool AfterTraining { get; init; }
    /// <summary>With <see cref="AfterTraining"/>: seconds between checks for active training runs.</summary>
    [JsonPropertyName("wait_poll_seconds")] public int WaitPollSeconds { get; init; } = 300;
}

/// <summary>The live progress of a scoring run (the orchestration's custom status).</summary>
public sealed record ScoringProgress
{
    [JsonPropertyName("stage")] public required string Stage { get; init; }
    [JsonPropertyName("shards_read")] public int ShardsRead { get; init; }
    [JsonPropertyName("shards_scored")] public int ShardsScored { get; init; }
    [JsonPropertyName("shards_total")] public int ShardsTotal { get; init; }
}

public static class ScoringStages
{
    public const string WaitForTraining = "wait_for_training";
    public const string Read = "read";
    public const string Score = "score";
    public const string Manifest = "manifest";
    public const string Done = "done";
}

/// <param name="Model">The run's model: its GA4 signals (a signals model's) are read with the candidates; null
/// (inputs stored before signals were served): the options as they are.</param>
public sealed record ReadScoringShardInput(string RunId, string Source, PredictionTask Task, PrepareOptions Options,
    int Shard, int Shards, ScoringModel? Model = null);

/// <param name="MaxTimestamp">The shard's latest event (µs), null when it has none.</param>
public sealed record ScoringShardReference(string Blob, int Shard, long? MaxTimestamp, int Candidates);

public sealed record ScoreShardInput(string RunId, ScoringInput Run, int Shard, long EndOfData);

public sealed record ScoredPart(ScorePart Part, ScoringCounts Counts);

public sealed record WriteScoringManifestInput(string RunId, ScoringInput Run, long EndOfData, IReadOnlyList<ScoredPart> Parts);

/// <summary>Output of <see cref="ScoringOrchestration"/>.</summary>
public sealed record ScoringResult(
    [property: JsonPropertyName("manifest")] string ManifestBlob,
    [property: JsonPropertyName("rows")] long Rows,
    [property: JsonPropertyName("counts")] ScoringCounts Counts);

/// <summary>Blob names of a scoring run, in the artifacts container: <c>scores/{run}/run.json</c> (its input),
/// <c>scores/{run}/inputs/NNNN-of-NNNN.json.gz</c> (each shard's candidates), <c>scores/{run}/part-NNNNN.parquet</c>
/// and <c>.csv</c>, and <c>scores/{run}/manifest.json</c>, written last.</summary>
public static class ScoringNames
{
    public static string Folder(string runId) => $"scores/{runId}/";
    public static string Run(string runId) => Folder(runId) + "run.json";
    public static string Inputs(string runId, int shard, int shards) => Folder(runId) + $"inputs/{shard:D4}-of-{shards:D4}.json.gz";
    public static string Part(string runId, string fileName) => Folder(runId) + fileName;
    public static string Manifest(string runId) => Folder(runId) + ScoringManifest.FileName;
}
