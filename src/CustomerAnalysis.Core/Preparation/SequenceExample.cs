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
/// <see cref="Tokens"/>. Long inputs keep their last events only.
/// </summary>
public sealed record SequenceExample(string Id, string User, int[] Tokens, float[] GapSeconds, int Label);
