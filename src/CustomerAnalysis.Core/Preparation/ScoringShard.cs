using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>One user's model input for batch scoring: event names as indexes into
/// <see cref="ScoringShard.EventNames"/>, the gaps (seconds, 0 for the first kept event) and, for churn, the user's
/// first engagement (µs), to tell at the end whether the user's window is complete in the data. <see cref="Signals"/>:
/// the input events' GA4 signals as read (into <see cref="ScoringShard.SignalValues"/>) when the options ask for
/// signals (a signals model's), else null and absent from the file.</summary>
public sealed record ScoringSequence(
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("names")] int[] Names,
    [property: JsonPropertyName("gap_seconds")] float[] GapSeconds,
    [property: JsonPropertyName("first")] long FirstEngagement,
    [property: JsonPropertyName("signals"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ShardSignals? Signals = null);

/// <summary>
/// The users of one shard that batch scoring may score (<see cref="DatasetPreparer.PrepareScoringShard"/>), before
/// the end of the whole data is known. Churn: every engaged user who did not bounce, with the input the training
/// labels use (the churn window); which of them are scored needs the end of the data over every shard
/// (<see cref="IsScored"/>). Next event: each user's latest session, every event of it.
/// </summary>
public sealed record ScoringShard
{
    [JsonPropertyName("shard")] public required int Shard { get; init; }
    [JsonPropertyName("shards")] public required int ShardCount { get; init; }
    [JsonPropertyName("task")] public required PredictionTask Task { get; init; }
    [JsonPropertyName("options")] public required PrepareOptions Options { get; init; }
    /// <summary>The latest kept event of the shard (µs), null without one: the end of the data is the largest over
    /// the shards.</summary>
    [JsonPropertyName("max_timestamp")] public required long? MaxTimestamp { get; init; }
    [JsonPropertyName("event_names")] public required IReadOnlyList<string> EventNames { get; init; }
    /// <summary>Users of the shard with at least one kept event.</summary>
    [JsonPropertyName("users")] public required long Users { get; init; }
    /// <summary>Churn: users without an engagement event (never scored).</summary>
    [JsonPropertyName("no_engagement")] public long NoEngagement { get; init; }
    /// <summary>Churn: users whose last engagement is within the bounce window of their first (never scored).</summary>
    [JsonPropertyName("bounced")] public long Bounced { get; init; }
    /// <summary>One per candidate user, in the shard's user order.</summary>
    [JsonPropertyName("sequences")] public required IReadOnlyList<ScoringSequence> Sequences { get; init; }
    /// <summary>Per categorical signal of <see cref="Options"/> (in <see cref="Events.SignalSet.Categorical"/> order)
    /// the shard's values by number, as <see cref="PreparedShard.SignalValues"/>; null without signals.</summary>
    [JsonPropertyName("signal_values"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<IReadOnlyList<string>>? SignalValues { get; init; }

    /// <summary>Whether the candidate is scored once the end of the data is known: next event always; churn when the
    /// user's first-engagement window (first engagement + horizon) has ended by <paramref name="endOfData"/> — the
    /// same rule that censors recent users from the training labels, applied whatever
    /// <see cref="PrepareOptions.CensorRecentUsers"/> says (a user whose window is still open has not shown the
    /// behaviour the model learnt from).</summary>
    public bool IsScored(ScoringSequence sequence, long endOfData) =>
        Task != PredictionTask.Churn
        || sequence.FirstEngagement <= endOfData - (long)Math.Round(Options.ChurnHorizonHours * 3600 * 1_000_000);

    /// <summary>The end of the data over every shard of one scoring run: the latest event of any of them.</summary>
    public static long EndOfData(IEnumerable<long?> shardMaxTimestamps) => shardMaxTimestamps.Max() ?? 0;
}
