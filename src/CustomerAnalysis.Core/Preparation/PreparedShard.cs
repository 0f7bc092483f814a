using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>How a churn user came out before censoring, which needs the end of the whole data and so waits for the
/// merge.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ShardChurnOutcome>))]
public enum ShardChurnOutcome
{
    Bounced,
    Churned,
    Returned,
}

/// <summary>An engaged churn user of a shard: first engagement (µs) and the outcome before censoring.</summary>
public sealed record ShardUser(
    [property: JsonPropertyName("first")] long FirstEngagement,
    [property: JsonPropertyName("outcome")] ShardChurnOutcome Outcome);

/// <summary>
/// A sequence of a shard before the split and the vocabulary (both need every shard): its input as indexes into the
/// shard's <see cref="PreparedShard.EventNames"/>, the gaps, and the label (events: the target's name index; churn:
/// 0/1). Churn sequences carry their user's first engagement so the merge can censor them. <see cref="Time"/> (µs) is
/// the example's time (<see cref="SequenceExample.Time"/>), for the merge's <c>holdout_days</c> split.
/// </summary>
public sealed record ShardSequence(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("names")] int[] Names,
    [property: JsonPropertyName("gap_seconds")] float[] GapSeconds,
    [property: JsonPropertyName("label")] int Label,
    [property: JsonPropertyName("truncated")] bool Truncated,
    [property: JsonPropertyName("first")] long FirstEngagement,
    [property: JsonPropertyName("signals"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ShardSignals? Signals = null,
    [property: JsonPropertyName("time")] long Time = 0);

/// <summary>A shard sequence's signals before encoding: per event categorical field the value numbers of each input
/// event (into <see cref="PreparedShard.SignalValues"/>), per numeric field the raw values (null = missing), per user
/// field the value number of the first input event.</summary>
public sealed record ShardSignals(
    [property: JsonPropertyName("categorical")] int[][] Categorical,
    [property: JsonPropertyName("numeric")] float?[][] Numeric,
    [property: JsonPropertyName("user")] int[] User);

/// <summary>
/// One shard's part of a prepared dataset (<see cref="DatasetPreparer.PrepareShard"/>): the sequences of its users
/// and the counts the summary adds up. Everything in it is a per-user rule; what needs all users (censoring against
/// the end of the data, the split's cut points, the vocabulary) is left to <see cref="DatasetPreparer.Merge"/>.
/// </summary>
public sealed record PreparedShard
{
    [JsonPropertyName("shard")] public required int Shard { get; init; }
    [JsonPropertyName("shards")] public required int ShardCount { get; init; }
    [JsonPropertyName("task")] public required PredictionTask Task { get; init; }
    [JsonPropertyName("protocol")] public required string Protocol { get; init; }
    /// <summary>The options actually used (the protocol applied).</summary>
    [JsonPropertyName("options")] public required PrepareOptions Options { get; init; }
    [JsonPropertyName("rows_read")] public required long RowsRead { get; init; }
    [JsonPropertyName("rows_rejected_by_reason")] public required IReadOnlyDictionary<RejectReason, long> RejectedByReason { get; init; }
    [JsonPropertyName("users")] public required long Users { get; init; }
    [JsonPropertyName("sessions")] public required long Sessions { get; init; }
    [JsonPropertyName("sessions_too_short")] public required long SessionsTooShort { get; init; }
    /// <summary>The latest kept event (µs), null without one: the end of the data is the largest over the shards.</summary>
    [JsonPropertyName("max_timestamp")] public required long? MaxTimestamp { get; init; }
    /// <summary>The earliest kept event (µs), null without one: with <see cref="MaxTimestamp"/>, the data's span.</summary>
    [JsonPropertyName("min_timestamp")] public long? MinTimestamp { get; init; }
    /// <summary>Distinct event names of the shard's rows; <see cref="ShardSequence.Names"/> index them.</summary>
    [JsonPropertyName("event_names")] public required IReadOnlyList<string> EventNames { get; init; }
    /// <summary>Kept rows per name of <see cref="EventNames"/>.</summary>
    [JsonPropertyName("event_name_rows")] public required IReadOnlyList<long> EventNameRows { get; init; }
    /// <summary>Churn: users with no engagement event.</summary>
    [JsonPropertyName("no_engagement")] public long NoEngagement { get; init; }
    /// <summary>Churn: every engaged user (kept or not), for the label counts after censoring.</summary>
    [JsonPropertyName("engaged_users")] public IReadOnlyList<ShardUser> EngagedUsers { get; init; } = [];
    /// <summary>Per categorical signal of the options (in <see cref="Events.SignalSet.Categorical"/> order) the shard's
    /// distinct values by number (0 and 1: the missing and obfuscated markers); null without signals.</summary>
    [JsonPropertyName("signal_values"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<IReadOnlyList<string>>? SignalValues { get; init; }
    /// <summary>The candidate sequences, each user's together (session order within a user).</summary>
    [JsonPropertyName("sequences")] public required IReadOnlyList<ShardSequence> Sequences { get; init; }
}
