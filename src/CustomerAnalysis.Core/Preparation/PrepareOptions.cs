using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>Which events count as engagement when finding a user's first and last engagement.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EngagementEvents>))]
public enum EngagementEvents
{
    /// <summary>Every event (the original project; the default).</summary>
    [JsonStringEnumMemberName("all")] All,
    /// <summary><c>user_engagement</c> only (Google's BQML GA4 churn notebook).</summary>
    [JsonStringEnumMemberName("user_engagement")] UserEngagement,
}

/// <summary>What happens to users whose last engagement is within the bounce window of their first.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BouncedUsers>))]
public enum BouncedUsers
{
    /// <summary>Left out of the churn dataset (Google's notebook; the default).</summary>
    [JsonStringEnumMemberName("exclude")] Exclude,
    /// <summary>Labelled not churned (the original project).</summary>
    [JsonStringEnumMemberName("not_churned")] NotChurned,
}

/// <summary>Which of a user's events feed the churn sequence.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChurnWindow>))]
public enum ChurnWindow
{
    /// <summary>Only events before first engagement + horizon: the input cannot reveal the label (the default).</summary>
    [JsonStringEnumMemberName("horizon")] Horizon,
    /// <summary>All of the user's events: the original project's leaky setup, kept for comparison.</summary>
    [JsonStringEnumMemberName("all")] All,
}

/// <summary>How sequences are assigned to train/validation/test.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SplitMode>))]
public enum SplitMode
{
    /// <summary>All of a user's sequences in one split; churn stratified by label (the default).</summary>
    [JsonStringEnumMemberName("user")] User,
    /// <summary>Each sequence assigned independently at random (the original project).</summary>
    [JsonStringEnumMemberName("row")] Row,
}

public sealed record SplitRatios(
    [property: JsonPropertyName("train")] double Train,
    [property: JsonPropertyName("val")] double Validation,
    [property: JsonPropertyName("test")] double Test);

/// <summary>
/// The data settings of <c>ca prepare</c> (<c>config/prepare.json</c>). <see cref="Default"/> is the leakage-free
/// protocol; <see cref="Original"/> reproduces the original Python project's choices in one switch.
/// </summary>
public sealed record PrepareOptions
{
    [JsonPropertyName("engagement_events")] public EngagementEvents EngagementEvents { get; init; } = EngagementEvents.All;
    [JsonPropertyName("churn_horizon_hours")] public double ChurnHorizonHours { get; init; } = 24;
    [JsonPropertyName("bounce_minutes")] public double BounceMinutes { get; init; } = 10;
    [JsonPropertyName("bounced_users")] public BouncedUsers BouncedUsers { get; init; } = BouncedUsers.Exclude;
    /// <summary>Exclude users first seen less than the horizon before the end of the data (they cannot be labelled).</summary>
    [JsonPropertyName("censor_recent_users")] public bool CensorRecentUsers { get; init; } = true;
    [JsonPropertyName("churn_window")] public ChurnWindow ChurnWindow { get; init; } = ChurnWindow.Horizon;
    /// <summary>Longer sequences keep their last events.</summary>
    [JsonPropertyName("max_sequence_length")] public int MaxSequenceLength { get; init; } = 500;
    [JsonPropertyName("split")] public SplitRatios Split { get; init; } = new(0.70, 0.15, 0.15);
    [JsonPropertyName("split_mode")] public SplitMode SplitMode { get; init; } = SplitMode.User;
    [JsonPropertyName("seed")] public int Seed { get; init; } = 42;
    /// <summary>Days at the end of the data whose examples of training and validation users go to the
    /// <c>val_recent</c> split instead (never trained on), so trials are also chosen on later days than they learnt
    /// from; test keeps its users' examples of every day. 0 = none. Taken only when the data spans more than
    /// <see cref="HoldoutSpanFactor"/> × this many days, so a short sample keeps its training data. The original
    /// protocol forces 0.</summary>
    [JsonPropertyName("holdout_days")] public double HoldoutDays { get; init; } = DefaultHoldoutDays;
    /// <summary>GA4 fields to read and store beside the event names (issue 10 §2); null = none (names only, the
    /// default; the original protocol forces it). Written only when set, so files without signals stay as they were.</summary>
    [JsonPropertyName("signals"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonConverter(typeof(SignalSetJsonConverter))]
    public SignalSet? Signals { get; init; }
    /// <summary>Most frequent training values kept per categorical signal; the rest are &lt;OTHER&gt;. Null = 30.</summary>
    [JsonPropertyName("signal_vocabulary_size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? SignalVocabularySize { get; init; }

    /// <summary>Share of the training split's examples stored with every signal missing (from 0 to
    /// <see cref="MaxSignalDropout"/>; null = 0; ignored without signals), chosen by the seeded hash of their ids. A
    /// model trained on signals alone has never seen a sequence without them, and answers a request that carries none
    /// (a client sending names only, the web UI) far worse than a names-only model; with these examples it learns to
    /// fall back on names and times. Validation, val_recent and test keep their signals.</summary>
    [JsonPropertyName("signal_dropout"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SignalDropout { get; init; }

    public const double MaxSignalDropout = 0.9;
    public const int DefaultSignalVocabularySize = 30;
    /// <summary>1 of the 9 days in ../shared: about a tenth of the training users' examples (README).</summary>
    public const double DefaultHoldoutDays = 1;
    /// <summary>The data must span more than this many holdouts for the holdout to be taken.</summary>
    public const double HoldoutSpanFactor = 3;
    public const double MaxHoldoutDays = 3660;

    /// <summary>The signals to read (none when unset).</summary>
    [JsonIgnore] public SignalSet SignalSet => Signals ?? SignalSet.None;

    public static PrepareOptions Default { get; } = new();

    /// <summary>The original project: all events as engagement, bounced = not churned, no censoring, full-history
    /// churn window, row-random split.</summary>
    public PrepareOptions AsOriginalProtocol() => this with
    {
        EngagementEvents = EngagementEvents.All,
        BouncedUsers = BouncedUsers.NotChurned,
        CensorRecentUsers = false,
        ChurnWindow = ChurnWindow.All,
        SplitMode = SplitMode.Row,
        // The original project validated on a random share of the rows only.
        HoldoutDays = 0,
        // The original project saw event names only.
        Signals = null,
        SignalVocabularySize = null,
        SignalDropout = null,
    };
}

/// <summary>A <see cref="SignalSet"/> as a JSON array of signal names.</summary>
public sealed class SignalSetJsonConverter : JsonConverter<SignalSet>
{
    public override SignalSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException("signals must be an array of names");
        var fields = new List<SignalField>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            fields.Add(reader.TokenType == JsonTokenType.String && Events.Signals.TryParse(reader.GetString()!, out var field)
                ? field
                : throw new JsonException($"unknown signal {reader.GetString()}"));
        return new SignalSet(fields);
    }

    public override void Write(Utf8JsonWriter writer, SignalSet value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var field in value.Fields) writer.WriteStringValue(Events.Signals.Name(field));
        writer.WriteEndArray();
    }
}
