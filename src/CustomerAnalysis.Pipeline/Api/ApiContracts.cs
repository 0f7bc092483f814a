using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>Body of <c>POST /api/training</c>.</summary>
public sealed record TrainingRequestBody
{
    /// <summary>Anything <c>ca prepare --input</c> accepts, or <c>blob://container/prefix</c>.</summary>
    [JsonPropertyName("source")] public string? Source { get; init; }
    /// <summary><c>events</c> or <c>churn</c>.</summary>
    [JsonPropertyName("task")] public string? Task { get; init; }
    /// <summary>Model config (<c>rnn</c>, <c>transformer</c>); the task's default from the pipeline config.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }
    /// <summary>Registry model name; the task's from the pipeline config by default.</summary>
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("overrides")] public TrainingOverrides? Overrides { get; init; }
}

public sealed record TrainingOverrides
{
    /// <summary>Model config settings: <c>{"group.key": value}</c> or <c>{"group": {"key": value}}</c>.</summary>
    [JsonPropertyName("config")] public System.Text.Json.Nodes.JsonObject? Config { get; init; }
    /// <summary>Replaces the model config's <c>grid_search_params</c>.</summary>
    [JsonPropertyName("grid")] public System.Text.Json.Nodes.JsonObject? Grid { get; init; }
    /// <summary>Prepare options (like <c>config/prepare.json</c>); kept as JSON here so that
    /// <see cref="Core.Preparation.PrepareOptionsFile"/> validates them (unknown keys, types, values) before the run starts.</summary>
    [JsonPropertyName("prepare")] public System.Text.Json.Nodes.JsonObject? Prepare { get; init; }
}

public sealed record TrainingAccepted(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("status_url")] string StatusUrl);

public sealed record TrainingStatusResponse
{
    [JsonPropertyName("run")] public required RunRecord Run { get; init; }
    /// <summary>The orchestration's runtime status (Pending, Running, Completed, Failed, ...).</summary>
    [JsonPropertyName("runtime_status")] public string? RuntimeStatus { get; init; }
    [JsonPropertyName("progress")] public TrainingProgress? Progress { get; init; }
    [JsonPropertyName("trials")] public required IReadOnlyList<TrialRecord> Trials { get; init; }
    [JsonPropertyName("result")] public TrainingResult? Result { get; init; }
}

public sealed record StageChangeBody([property: JsonPropertyName("stage")] string? Stage);

public sealed record ModelIdentity(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] int Version);

public sealed record AttentionWeight(
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("weight")] double Weight);

public sealed record NextEventResult(
    [property: JsonPropertyName("top")] IReadOnlyList<EventProbability> Top,
    [property: JsonPropertyName("attention")] IReadOnlyList<AttentionWeight> Attention)
{
    /// <summary>Positions of the input events the model's vocabulary lacks (read as <c>&lt;UNK&gt;</c>).</summary>
    [JsonPropertyName("unknown")] public IReadOnlyList<int> Unknown { get; init; } = [];
}

public sealed record NextEventResponse(
    [property: JsonPropertyName("model")] ModelIdentity Model,
    [property: JsonPropertyName("predictions")] IReadOnlyList<NextEventResult> Predictions);

public sealed record ChurnResult(
    [property: JsonPropertyName("probability")] double Probability,
    [property: JsonPropertyName("churned")] bool Churned)
{
    /// <summary>Positions of the input events the model's vocabulary lacks (read as <c>&lt;UNK&gt;</c>).</summary>
    [JsonPropertyName("unknown")] public IReadOnlyList<int> Unknown { get; init; } = [];
}

public sealed record ChurnResponse(
    [property: JsonPropertyName("model")] ModelIdentity Model,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("predictions")] IReadOnlyList<ChurnResult> Predictions);
