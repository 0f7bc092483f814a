using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Api;

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
    [property: JsonPropertyName("predictions")] IReadOnlyList<NextEventResult> Predictions)
{
    /// <summary>The GA4 signals the served model read from the events (empty: a names-only model, which ignores them).</summary>
    [JsonPropertyName("signals")] public IReadOnlyList<string> Signals { get; init; } = [];
}

public sealed record ChurnResult(
    [property: JsonPropertyName("probability")] double Probability,
    [property: JsonPropertyName("churned")] bool Churned,
    [property: JsonPropertyName("attention")] IReadOnlyList<AttentionWeight> Attention)
{
    /// <summary>Positions of the input events the model's vocabulary lacks (read as <c>&lt;UNK&gt;</c>).</summary>
    [JsonPropertyName("unknown")] public IReadOnlyList<int> Unknown { get; init; } = [];
}

public sealed record ChurnResponse(
    [property: JsonPropertyName("model")] ModelIdentity Model,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("predictions")] IReadOnlyList<ChurnResult> Predictions)
{
    /// <summary>The GA4 signals the served model read from the events (empty: a names-only model, which ignores them).</summary>
    [JsonPropertyName("signals")] public IReadOnlyList<string> Signals { get; init; } = [];
}
