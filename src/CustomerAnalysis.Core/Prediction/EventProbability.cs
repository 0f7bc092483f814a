using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Prediction;

/// <summary>A predicted next event and its probability, as the predictor computes it and the API answers it.</summary>
public sealed record EventProbability(
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("probability")] double Probability);
