using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Events;

/// <summary>
/// A GA4 field read beside the four the pipeline always needs (issue 10, section 2). Each is categorical or numeric
/// (<see cref="Signals.KindOf"/>) and describes the event or, for device, geo, traffic source and platform, the user
/// (<see cref="Signals.ScopeOf"/>: those are joined to a sequence once, from its first event).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<SignalField>))]
public enum SignalField
{
    /// <summary><c>event_params</c> <c>engagement_time_msec</c> (int_value).</summary>
    [JsonStringEnumMemberName("engagement_time_msec")] EngagementTimeMsec,
    /// <summary><c>event_params</c> <c>ga_session_number</c> (int_value): the user's how-manieth session.</summary>
    [JsonStringEnumMemberName("ga_session_number")] GaSessionNumber,
    /// <summary><c>event_params</c> <c>entrances</c> (int_value, 1 on a session's landing page).</summary>
    [JsonStringEnumMemberName("entrances")] Entrances,
    /// <summary><c>event_params</c> <c>source</c> (string_value; campaign events only).</summary>
    [JsonStringEnumMemberName("param_source")] ParamSource,
    /// <summary><c>event_params</c> <c>medium</c> (string_value).</summary>
    [JsonStringEnumMemberName("param_medium")] ParamMedium,
    /// <summary><c>event_params</c> <c>page_title</c> (string_value).</summary>
    [JsonStringEnumMemberName("page_title")] PageTitle,
    /// <summary><c>event_params</c> <c>page_location</c>, bucketed to host + first path segment
    /// (<see cref="Signals.PageBucket"/>): whole URLs are nearly unique and carry query strings.</summary>
    [JsonStringEnumMemberName("page_path")] PagePath,
    /// <summary><c>device.category</c> (desktop, mobile, tablet).</summary>
    [JsonStringEnumMemberName("device_category")] DeviceCategory,
    /// <summary><c>device.operating_system</c>.</summary>
    [JsonStringEnumMemberName("operating_system")] OperatingSystem,
    /// <summary><c>device.web_info.browser</c>.</summary>
    [JsonStringEnumMemberName("browser")] Browser,
    /// <summary><c>geo.country</c>.</summary>
    [JsonStringEnumMemberName("country")] Country,
    /// <summary><c>traffic_source.source</c> (the user's first-touch source).</summary>
    [JsonStringEnumMemberName("traffic_source")] TrafficSource,
    /// <summary><c>traffic_source.medium</c>.</summary>
    [JsonStringEnumMemberName("traffic_medium")] TrafficMedium,
    /// <summary><c>platform</c> (WEB, ANDROID, IOS).</summary>
    [JsonStringEnumMemberName("platform")] Platform,
    /// <summary><c>ecommerce.purchase_revenue_in_usd</c> (null except on purchases).</summary>
    [JsonStringEnumMemberName("ecommerce_value")] EcommerceValue,
    /// <summary><c>items</c>' first <c>item_category</c>.</summary>
    [JsonStringEnumMemberName("item_category")] ItemCategory,
}

public enum SignalKind
{
    Categorical,
    Numeric,
}

public enum SignalScope
{
    /// <summary>Varies event by event: one value per input event.</summary>
    Event,
    /// <summary>Fixed for a user (device, place, acquisition): one value per sequence, from its first event.</summary>
    User,
}

/// <summary>
/// The signal fields to read, in a fixed order (the enum's), split into categorical and numeric. An empty set reads
/// nothing beyond the four required fields: today's behaviour, byte for byte.
/// </summary>
public sealed class SignalSet : IEquatable<SignalSet>
{
    public static readonly SignalSet None = new([]);

    public SignalSet(IEnumerable<SignalField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        Fields = fields.Distinct().Order().ToArray();
        Categorical = Fields.Where(f => Signals.KindOf(f) == SignalKind.Categorical).ToArray();
        Numeric = Fields.Where(f => Signals.KindOf(f) == SignalKind.Numeric).ToArray();
    }

    public IReadOnlyList<SignalField> Fields { get; }
    public IReadOnlyList<SignalField> Categorical { get; }
    public IReadOnlyList<SignalField> Numeric { get; }
    public bool IsEmpty => Fields.Count == 0;

    /// <summary>Position of <paramref name="field"/> in <see cref="Categorical"/> or <see cref="Numeric"/>; -1 if absent.</summary>
    public int IndexOf(SignalField field) =>
        Signals.KindOf(field) == SignalKind.Categorical ? IndexIn(Categorical, field) : IndexIn(Numeric, field);

    private static int IndexIn(IReadOnlyList<SignalField> list, SignalField field)
    {
        for (var i = 0; i < list.Count; i++)
            if (list[i] == field) return i;
        return -1;
    }

    public bool Equals(SignalSet? other) => other is not null && Fields.SequenceEqual(other.Fields);
    public override bool Equals(object? obj) => Equals(obj as SignalSet);
    public override int GetHashCode() => Fields.Aggregate(17, (hash, field) => hash * 31 + (int)field);
    public override string ToString() => string.Join(",", Fields.Select(Signals.Name));
}

/// <summary>What each <see cref="SignalField"/> is, and how raw values are cleaned.</summary>
public static class Signals
{
    /// <summary>Category number of a missing value (null, empty, GA4's <c>(not set)</c>).</summary>
    public const int Missing = 0;
    /// <summary>Category number of a value GA4 obfuscated (<c>&lt;Other&gt;</c>, <c>(data deleted)</c>): known to
    /// exist but hidden, which is not the same as absent and never a real category.</summary>
    public const int Obfuscated = 1;
    public const string MissingToken = "<MISSING>";
    public const string ObfuscatedToken = "<OBFUSCATED>";
    /// <summary>Real values start here in every per-field value list.</summary>
    public const int FirstValue = 2;

    /// <summary>The recommended set: every field the public GA4 sample export fills.</summary>
    public static readonly SignalSet Recommended = new(Enum.GetValues<SignalField>());

    public static SignalKind KindOf(SignalField field) => field switch
    {
        SignalField.EngagementTimeMsec or SignalField.GaSessionNumber or SignalField.Entrances
            or SignalField.EcommerceValue => SignalKind.Numeric,
        _ => SignalKind.Categorical,
    };

    public static SignalScope ScopeOf(SignalField field) => field switch
    {
        SignalField.DeviceCategory or SignalField.OperatingSystem or SignalField.Browser or SignalField.Country
            or SignalField.TrafficSource or SignalField.TrafficMedium or SignalField.Platform => SignalScope.User,
        _ => SignalScope.Event,
    };

    /// <summary>The <c>event_params</c> key a field is read from; null for the fields that are columns.</summary>
    public static string? ParamKey(SignalField field) => field switch
    {
        SignalField.EngagementTimeMsec => "engagement_time_msec",
        SignalField.GaSessionNumber => "ga_session_number",
        SignalField.Entrances => "entrances",
        SignalField.ParamSource => "source",
        SignalField.ParamMedium => "medium",
        SignalField.PageTitle => "page_title",
        SignalField.PagePath => "page_location",
        _ => null,
    };

    /// <summary>The column path of a field that is not an event param (dot-separated, as BigQuery names it).</summary>
    public static string? ColumnPath(SignalField field) => field switch
    {
        SignalField.DeviceCategory => "device.category",
        SignalField.OperatingSystem => "device.operating_system",
        SignalField.Browser => "device.web_info.browser",
        SignalField.Country => "geo.country",
        SignalField.TrafficSource => "traffic_source.source",
        SignalField.TrafficMedium => "traffic_source.medium",
        SignalField.Platform => "platform",
        SignalField.EcommerceValue => "ecommerce.purchase_revenue_in_usd",
        _ => null,
    };

    /// <summary>The snake_case name used in settings and files.</summary>
    public static string Name(SignalField field) => field switch
    {
        SignalField.EngagementTimeMsec => "engagement_time_msec",
        SignalField.GaSessionNumber => "ga_session_number",
        SignalField.Entrances => "entrances",
        SignalField.ParamSource => "param_source",
        SignalField.ParamMedium => "param_medium",
        SignalField.PageTitle => "page_title",
        SignalField.PagePath => "page_path",
        SignalField.DeviceCategory => "device_category",
        SignalField.OperatingSystem => "operating_system",
        SignalField.Browser => "browser",
        SignalField.Country => "country",
        SignalField.TrafficSource => "traffic_source",
        SignalField.TrafficMedium => "traffic_medium",
        SignalField.Platform => "platform",
        SignalField.EcommerceValue => "ecommerce_value",
        SignalField.ItemCategory => "item_category",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    public static bool TryParse(string text, out SignalField field)
    {
        foreach (var candidate in Enum.GetValues<SignalField>())
            if (Name(candidate) == text)
            {
                field = candidate;
                return true;
            }
        field = default;
        return false;
    }

    /// <summary><see cref="Missing"/>, <see cref="Obfuscated"/>, or -1 for a real value.</summary>
    public static int Marker(ReadOnlySpan<char> text)
    {
        var trimmed = text.Trim();
        if (trimmed.IsEmpty || trimmed.SequenceEqual("(not set)") || trimmed.SequenceEqual("null")) return Missing;
        if (trimmed.SequenceEqual("<Other>") || trimmed.SequenceEqual("(data deleted)") || trimmed.SequenceEqual("(other)"))
            return Obfuscated;
        return -1;
    }

    /// <summary>The value a categorical field keeps of a raw text: <see cref="PagePath"/> buckets URLs, the others
    /// keep the text (trimmed).</summary>
    public static string Clean(SignalField field, string text) =>
        field == SignalField.PagePath ? PageBucket(text) : text.Trim();

    /// <summary>host + first path segment of a URL ("shop.example.com/Google+Redesign"), without query or fragment;
    /// a text that is not an absolute URL is kept up to its first '?' or '#'.</summary>
    public static string PageBucket(string url)
    {
        var text = url.Trim();
        var cut = text.IndexOfAny(['?', '#']);
        if (cut >= 0) text = text[..cut];
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host)) return text;
        var path = uri.AbsolutePath.Trim('/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var first = slash >= 0 ? path[..slash] : path;
        return first.Length == 0 ? uri.Host.ToLowerInvariant() : $"{uri.Host.ToLowerInvariant()}/{first}";
    }

    /// <summary>Parses "device_category,country" (or "recommended", or "" for none).</summary>
    /// <exception cref="InvalidInputException">An unknown name.</exception>
    public static SignalSet ParseList(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0 || trimmed == "none") return SignalSet.None;
        if (trimmed == "recommended") return Recommended;
        var fields = new List<SignalField>();
        foreach (var part in trimmed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            fields.Add(TryParse(part, out var field) ? field
                : throw new InvalidInputException(
                    $"Unknown signal '{part}'; allowed: {string.Join(", ", Enum.GetValues<SignalField>().Select(Name))}, recommended, none."));
        return new SignalSet(fields);
    }
}

/// <summary>One row's signal values as a row reader found them, aligned with <see cref="SignalSet.Categorical"/>
/// and <see cref="SignalSet.Numeric"/> (null = missing). Texts are raw: the builder cleans and interns them.</summary>
public sealed record SignalRow(string?[] Categorical, double?[] Numeric);
