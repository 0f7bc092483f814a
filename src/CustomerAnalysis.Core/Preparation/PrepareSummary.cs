using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// Churn label counts: every user lands in exactly one of them, so they add up to the number of users. Checked in
/// this order: <see cref="NoEngagement"/>, <see cref="Censored"/>, <see cref="Bounced"/>, then churned or returned.
/// Bounced and censored users are counted whether or not they are kept (bounced users are kept, labelled not churned,
/// under <see cref="BouncedUsers.NotChurned"/>).
/// </summary>
public sealed record ChurnLabelCounts(
    [property: JsonPropertyName("churned")] long Churned,
    [property: JsonPropertyName("returned")] long Returned,
    [property: JsonPropertyName("bounced")] long Bounced,
    [property: JsonPropertyName("censored")] long Censored)
{
    /// <summary>Users with no engagement event (only possible with <c>engagement_events = user_engagement</c>):
    /// they have no first engagement, so they cannot be labelled and are excluded.</summary>
    [JsonPropertyName("no_engagement")] public long NoEngagement { get; init; }
}

public sealed record SplitSizes(
    [property: JsonPropertyName("train")] int Train,
    [property: JsonPropertyName("val")] int Validation,
    [property: JsonPropertyName("test")] int Test)
{
    /// <summary>The <c>holdout_days</c> split (<see cref="PreparedDataset.ValidationRecent"/>); 0 without one.</summary>
    [JsonPropertyName("val_recent")] public int ValidationRecent { get; init; }
}

/// <summary>
/// The counts of one <c>ca prepare</c>, printed by <c>--json</c> and stored with the dataset. Other tools read these
/// names: change them only with the command contract.
/// </summary>
public sealed record PrepareSummary
{
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("protocol")] public required string Protocol { get; init; }
    [JsonPropertyName("rows_read")] public required long RowsRead { get; init; }
    [JsonPropertyName("rows_rejected")] public required long RowsRejected { get; init; }
    /// <summary>Rejected rows by reason (e.g. <c>missing_ga_session_id</c>).</summary>
    [JsonPropertyName("rows_rejected_by_reason")] public required IReadOnlyDictionary<string, long> RowsRejectedByReason { get; init; }
    [JsonPropertyName("users")] public required long Users { get; init; }
    [JsonPropertyName("sessions")] public required long Sessions { get; init; }
    /// <summary>Event name → count over all kept rows.</summary>
    [JsonPropertyName("event_names")] public required IReadOnlyDictionary<string, long> EventNames { get; init; }
    /// <summary>Sequences after filtering (short sessions, bounced and censored users removed).</summary>
    [JsonPropertyName("sequences")] public required long Sequences { get; init; }
    /// <summary>Events task: sessions with fewer than 2 events, dropped.</summary>
    [JsonPropertyName("sessions_too_short")] public long SessionsTooShort { get; init; }
    /// <summary>Sequences cut to <c>max_sequence_length</c> (their last events kept).</summary>
    [JsonPropertyName("sequences_truncated")] public long SequencesTruncated { get; init; }
    /// <summary>Events task: targets (in any split) whose name is not in the training vocabulary, encoded as
    /// <c>&lt;UNK&gt;</c>.</summary>
    [JsonPropertyName("unknown_targets")] public long UnknownTargets { get; init; }
    /// <summary>Churn: <see cref="ChurnLabelCounts"/>; events: target name → count (all splits).</summary>
    [JsonPropertyName("labels")] public required object Labels { get; init; }
    [JsonPropertyName("splits")] public required SplitSizes Splits { get; init; }
    /// <summary>Unix seconds from which train and validation users' examples went to the val_recent split (end of the
    /// data − <c>holdout_days</c>); null without that split.</summary>
    [JsonPropertyName("val_recent_from"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ValidationRecentFrom { get; init; }
}
