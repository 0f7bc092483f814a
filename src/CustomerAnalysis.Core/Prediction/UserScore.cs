using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Prediction;

/// <summary>One scored user of a batch scoring run.</summary>
/// <param name="ChurnProbability">Churn: the calibrated probability; next event: null.</param>
/// <param name="Churned">Churn: probability ≥ the model's <c>prob_threshold</c>; next event: null.</param>
/// <param name="TopEvents">Next event: the most likely next events after the user's latest session, most likely
/// first; churn: empty.</param>
public sealed record UserScore(
    [property: JsonPropertyName("user_pseudo_id")] string User,
    [property: JsonPropertyName("churn_probability")] double? ChurnProbability,
    [property: JsonPropertyName("churned")] bool? Churned,
    [property: JsonPropertyName("top_events")] IReadOnlyList<EventProbability> TopEvents);
