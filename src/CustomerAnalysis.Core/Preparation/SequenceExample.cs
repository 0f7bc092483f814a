using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// One model input with its label.
/// <list type="bullet">
/// <item>Events task: <see cref="Tokens"/> are a session's events but the last; <see cref="Label"/> is the last
/// event's token.</item>
/// <item>Churn task: <see cref="Tokens"/> are the user's events inside the churn window; <see cref="Label"/> is 1 for
/// churned, 0 for returned.</item>
/// </list>
/// <see cref="GapSeconds"/>[i] is the time from event i-1 to event i (0 for the first), aligned with
/// <see cref="Tokens"/>. Long inputs keep their last events only, and the first kept event's gap is 0 too, so
/// <c>GapSeconds[0]</c> is always 0. <see cref="Id"/> is the user id (churn) or <c>user:ga_session_id</c> (events).
/// <see cref="Signals"/>: the GA4 signals the prepare options asked for, encoded (null, and absent from the files,
/// without them). <see cref="Time"/>: when the example happens, in unix seconds: events, the last input event; churn,
/// the end of the user's input window (first engagement + horizon, or the last event under
/// <see cref="ChurnWindow.All"/>). It decides the <c>holdout_days</c> split; null in files written before it existed.
/// The JSON names are those of the dataset files (<c>train.jsonl</c>, ...).
/// </summary>
public sealed record SequenceExample(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("tokens")] int[] Tokens,
    [property: JsonPropertyName("gap_seconds")] float[] GapSeconds,
    [property: JsonPropertyName("label")] int Label,
    [property: JsonPropertyName("signals"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ExampleSignals? Signals = null,
    [property: JsonPropertyName("time"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Time = null);
