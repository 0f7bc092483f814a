using System.Text.Json;
using System.Text.Json.Serialization;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>A histogram bin: values in [<see cref="Min"/>, <see cref="Max"/>] with probability <see cref="P"/>.</summary>
public sealed record ProfileBin(
    [property: JsonPropertyName("min")] double Min,
    [property: JsonPropertyName("max")] double Max,
    [property: JsonPropertyName("p")] double P);

/// <summary>A user's acquisition channel (GA4 <c>traffic_source</c>) with its share of users.</summary>
public sealed record TrafficSourceShare(
    [property: JsonPropertyName("medium")] string Medium,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("p")] double P);

/// <summary>How often an event carries items, and how many.</summary>
public sealed record ItemsShare(
    [property: JsonPropertyName("p")] double P,
    [property: JsonPropertyName("mean_count")] double MeanCount);

/// <summary>
/// Statistics of the real GA4 sample export that <see cref="SyntheticExport"/> reproduces. Derived once by
/// <c>bench profile</c> (DuckDB SQL over the real Parquet tables) and kept in the repo as
/// <c>ga4-profile.json</c>, an embedded resource. Events of a session are ordered by event_timestamp, then
/// event_bundle_sequence_id, then position in the export, as the product orders them.
/// <para>A session is modelled as an <em>opening</em> (<c>session_start</c>, and <c>first_visit</c> in a new user's
/// first session, tied with the first content event) plus a chain of <em>content</em> events: every other event name.
/// Lengths and transitions below count content events only.</para>
/// </summary>
public sealed record Ga4Profile
{
    public const string StartState = "<start>";
    public const string EndState = "<end>";

    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("events")] public required long Events { get; init; }
    [JsonPropertyName("users")] public required long Users { get; init; }
    [JsonPropertyName("sessions")] public required long Sessions { get; init; }

    /// <summary>Distinct users per event_date, in date order.</summary>
    [JsonPropertyName("daily_active_users")] public required int[] DailyActiveUsers { get; init; }
    /// <summary>Users with a first_visit per event_date, in date order.</summary>
    [JsonPropertyName("daily_new_users")] public required int[] DailyNewUsers { get; init; }
    /// <summary>Share of sessions starting in each UTC hour 0..23.</summary>
    [JsonPropertyName("session_start_hour_utc")] public required double[] SessionStartHourUtc { get; init; }

    /// <summary>P(a session has a session_start event).</summary>
    [JsonPropertyName("p_session_start")] public required double PSessionStart { get; init; }
    /// <summary>P(a user's first session, ga_session_number = 1, has a first_visit event).</summary>
    [JsonPropertyName("p_first_visit_in_first_session")] public required double PFirstVisitInFirstSession { get; init; }
    /// <summary>P(a user first seen in the export already had sessions before it: ga_session_number &gt; 1).</summary>
    [JsonPropertyName("p_existing_user_at_first_sight")] public required double PExistingUserAtFirstSight { get; init; }
    /// <summary>ga_session_number of the first session seen of users who already had sessions.</summary>
    [JsonPropertyName("existing_user_session_number")] public required ProfileBin[] ExistingUserSessionNumber { get; init; }

    /// <summary>Content events per session (0 = the session has only its opening events).</summary>
    [JsonPropertyName("content_events_per_session")] public required ProfileBin[] ContentEventsPerSession { get; init; }
    /// <summary>Total events per session (opening included): quantiles 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, for checks.</summary>
    [JsonPropertyName("session_length_quantiles")] public required double[] SessionLengthQuantiles { get; init; }
    /// <summary>Order-1 transitions between content events: from (or <see cref="StartState"/>) → to (or
    /// <see cref="EndState"/>) → probability. Each row sums to 1.</summary>
    [JsonPropertyName("transitions")] public required Dictionary<string, Dictionary<string, double>> Transitions { get; init; }

    /// <summary>Share of all events that share their exact event_timestamp with another event of the session.</summary>
    [JsonPropertyName("fraction_events_in_timestamp_ties")] public required double FractionEventsInTimestampTies { get; init; }
    /// <summary>P(the first content event has the session_start's timestamp).</summary>
    [JsonPropertyName("p_first_content_event_at_session_start")] public required double PFirstContentEventAtSessionStart { get; init; }
    /// <summary>Per content transition from → to: P(the two events have the same timestamp). Ties depend on the
    /// pair (page_view → view_promotion is one hit, page_view → user_engagement is not).</summary>
    [JsonPropertyName("p_tie_given_transition")] public required Dictionary<string, Dictionary<string, double>> PTieGivenTransition { get; init; }
    /// <summary>Non-zero gaps between consecutive content events, in seconds.</summary>
    [JsonPropertyName("gap_seconds")] public required ProfileBin[] GapSeconds { get; init; }

    /// <summary>P(the user has another session after their k-th session in the export), k = 1, 2, …; the last
    /// entry holds for every later session.</summary>
    [JsonPropertyName("p_return_after_session")] public required double[] PReturnAfterSession { get; init; }
    /// <summary>Hours from a session's start to the same user's next session start.</summary>
    [JsonPropertyName("return_gap_hours")] public required ProfileBin[] ReturnGapHours { get; init; }
    /// <summary>Sessions per user seen in the export (1, 2, …, last = that many or more), for checks.</summary>
    [JsonPropertyName("sessions_per_user")] public required double[] SessionsPerUser { get; init; }

    /// <summary>Per event name: P(the event has an engagement_time_msec parameter).</summary>
    [JsonPropertyName("p_engagement_time_param")] public required Dictionary<string, double> PEngagementTimeParam { get; init; }
    /// <summary>Per event name carrying items: how often and how many.</summary>
    [JsonPropertyName("items")] public required Dictionary<string, ItemsShare> Items { get; init; }

    /// <summary>Per-user attributes: the most common values, shares renormalised over those kept.</summary>
    [JsonPropertyName("device_category")] public required Dictionary<string, double> DeviceCategory { get; init; }
    [JsonPropertyName("operating_system")] public required Dictionary<string, double> OperatingSystem { get; init; }
    [JsonPropertyName("browser")] public required Dictionary<string, double> Browser { get; init; }
    [JsonPropertyName("country")] public required Dictionary<string, double> Country { get; init; }
    [JsonPropertyName("traffic_source")] public required TrafficSourceShare[] TrafficSource { get; init; }

    /// <summary>Indented, with names like <c>&lt;start&gt;</c> written as they are (the file is read by people).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The profile of the real sample export that ships with the library.</summary>
    public static Ga4Profile Default => EmbeddedProfile.Value;

    private static readonly Lazy<Ga4Profile> EmbeddedProfile = new(LoadEmbedded);

    public static Ga4Profile Parse(string json) =>
        JsonSerializer.Deserialize<Ga4Profile>(json, JsonOptions)
        ?? throw new InvalidDataException("The GA4 profile JSON is empty.");

    private static Ga4Profile LoadEmbedded()
    {
        const string name = "CustomerAnalysis.Ingestion.Synthetic.ga4-profile.json";
        using var stream = typeof(Ga4Profile).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing from the build.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}
