using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// Reads and checks <c>config/prepare.json</c>: a JSON object with the snake_case names of <see cref="PrepareOptions"/>.
/// Keys left out keep their default; an unknown key, a value of the wrong type or an impossible value is an
/// <see cref="InvalidInputException"/> naming the key and what it allows. Comments and trailing commas are allowed.
/// </summary>
public static class PrepareOptionsFile
{
    /// <summary>Largest difference from 1 tolerated in the sum of the split ratios (decimal fractions in JSON).</summary>
    private const double RatioSumTolerance = 1e-6;

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static PrepareOptions Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read the prepare options file '{path}': {e.Message}", e);
        }
        return Parse(json, path);
    }

    /// <param name="source">Names the text in error messages (a path, "request body", ...).</param>
    public static PrepareOptions Parse(string json, string source)
    {
        try
        {
            using var document = JsonDocument.Parse(json, DocumentOptions);
            return FromJson(document.RootElement, source);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{source}: not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Reads options from a JSON object (also the <c>options</c> of a dataset manifest) and validates them.</summary>
    internal static PrepareOptions FromJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException($"{source}: expected a JSON object of prepare options, got {Describe(root)}.");

        var options = PrepareOptions.Default;
        foreach (var property in EachPropertyOnce(root, source, ""))
        {
            var value = property.Value;
            options = property.Name switch
            {
                "engagement_events" => options with { EngagementEvents = ReadEnum<EngagementEvents>(value, source, property.Name) },
                "churn_horizon_hours" => options with { ChurnHorizonHours = ReadNumber(value, source, property.Name) },
                "bounce_minutes" => options with { BounceMinutes = ReadNumber(value, source, property.Name) },
                "bounced_users" => options with { BouncedUsers = ReadEnum<BouncedUsers>(value, source, property.Name) },
                "censor_recent_users" => options with { CensorRecentUsers = ReadBoolean(value, source, property.Name) },
                "churn_window" => options with { ChurnWindow = ReadEnum<ChurnWindow>(value, source, property.Name) },
                "max_sequence_length" => options with { MaxSequenceLength = ReadInteger(value, source, property.Name) },
                "split" => options with { Split = ReadSplit(value, source) },
                "split_mode" => options with { SplitMode = ReadEnum<SplitMode>(value, source, property.Name) },
                "seed" => options with { Seed = ReadInteger(value, source, property.Name) },
                "holdout_days" => options with { HoldoutDays = ReadNumber(value, source, property.Name) },
                "signals" => options with { Signals = ReadSignals(value, source) },
                "signal_vocabulary_size" => options with { SignalVocabularySize = ReadInteger(value, source, property.Name) },
                "signal_dropout" => options with { SignalDropout = ReadNumber(value, source, property.Name) },
                _ => throw new InvalidInputException(
                    $"{source}: unknown key \"{property.Name}\"; allowed keys: {string.Join(", ", TopLevelKeys)}."),
            };
        }
        Validate(options, source);
        return options;
    }

    /// <summary>
    /// Checks values no setting may take (also for options built in code). <paramref name="source"/> prefixes the
    /// message.
    /// </summary>
    public static void Validate(PrepareOptions options, string source = "prepare options")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!double.IsFinite(options.ChurnHorizonHours) || options.ChurnHorizonHours <= 0)
            throw Invalid(source, "churn_horizon_hours", "a number of hours > 0", options.ChurnHorizonHours);
        if (!double.IsFinite(options.BounceMinutes) || options.BounceMinutes < 0)
            throw Invalid(source, "bounce_minutes", "a number of minutes >= 0", options.BounceMinutes);
        if (options.BounceMinutes >= options.ChurnHorizonHours * 60)
            throw Invalid(source, "bounce_minutes",
                $"less than churn_horizon_hours ({options.ChurnHorizonHours} h = {options.ChurnHorizonHours * 60} min)",
                options.BounceMinutes);
        if (options.MaxSequenceLength < 2)
            throw Invalid(source, "max_sequence_length", "an integer >= 2", options.MaxSequenceLength);
        if (!double.IsFinite(options.HoldoutDays) || options.HoldoutDays < 0 || options.HoldoutDays > PrepareOptions.MaxHoldoutDays)
            throw Invalid(source, "holdout_days", $"a number of days from 0 (none) to {PrepareOptions.MaxHoldoutDays}", options.HoldoutDays);
        if (options.SignalVocabularySize is < 1 or > 100_000)
            throw Invalid(source, "signal_vocabulary_size", "an integer from 1 to 100000", options.SignalVocabularySize.Value);
        if (options.SignalDropout is { } dropout && !(dropout is >= 0 and <= PrepareOptions.MaxSignalDropout))
            throw Invalid(source, "signal_dropout", $"a share of the training examples from 0 to {PrepareOptions.MaxSignalDropout}", dropout);
        CheckEnum(options.EngagementEvents, source, "engagement_events");
        CheckEnum(options.BouncedUsers, source, "bounced_users");
        CheckEnum(options.ChurnWindow, source, "churn_window");
        CheckEnum(options.SplitMode, source, "split_mode");

        var split = options.Split ?? throw new InvalidInputException($"{source}: \"split\" is required.");
        foreach (var (key, ratio) in new[] { ("split.train", split.Train), ("split.val", split.Validation), ("split.test", split.Test) })
            if (!double.IsFinite(ratio) || ratio < 0 || ratio > 1)
                throw Invalid(source, key, "a ratio between 0 and 1", ratio);
        if (split.Train <= 0)
            throw Invalid(source, "split.train", "a ratio > 0 (a dataset needs training data)", split.Train);
        var sum = split.Train + split.Validation + split.Test;
        if (Math.Abs(sum - 1) > RatioSumTolerance)
            throw new InvalidInputException(
                $"{source}: \"split\" ratios train + val + test must sum to 1, got {sum.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
    }

    private static readonly string[] TopLevelKeys = typeof(PrepareOptions).GetProperties()
        .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name)
        .OfType<string>()
        .ToArray();

    /// <summary>"signals": an array of names, or one text ("recommended", "none" or names separated by commas).</summary>
    private static Events.SignalSet ReadSignals(JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.String
            && (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String)))
            throw new InvalidInputException($"{source}: \"signals\" must be an array of signal names or \"recommended\", got {Describe(value)}.");
        try
        {
            return Events.Signals.ParseList(value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : string.Join(",", value.EnumerateArray().Select(v => v.GetString())));
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"{source}: {e.Message}", e);
        }
    }

    private static SplitRatios ReadSplit(JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException($"{source}: \"split\" must be an object {{\"train\", \"val\", \"test\"}}, got {Describe(value)}.");
        double? train = null, validation = null, test = null;
        foreach (var property in EachPropertyOnce(value, source, "split."))
        {
            var key = "split." + property.Name;
            switch (property.Name)
            {
                case "train": train = ReadNumber(property.Value, source, key); break;
                case "val": validation = ReadNumber(property.Value, source, key); break;
                case "test": test = ReadNumber(property.Value, source, key); break;
                default:
                    throw new InvalidInputException($"{source}: unknown key \"{key}\"; allowed keys: train, val, test.");
            }
        }
        if (train is null || validation is null || test is null)
            throw new InvalidInputException($"{source}: \"split\" needs all of train, val and test.");
        return new SplitRatios(train.Value, validation.Value, test.Value);
    }

    private static IEnumerable<JsonProperty> EachPropertyOnce(JsonElement obj, string source, string prefix)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            if (!seen.Add(property.Name))
                throw new InvalidInputException($"{source}: key \"{prefix}{property.Name}\" appears twice.");
            yield return property;
        }
    }

    private static double ReadNumber(JsonElement value, string source, string key) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number)
            ? number
            : throw new InvalidInputException($"{source}: \"{key}\" must be a number, got {Describe(value)}.");

    private static int ReadInteger(JsonElement value, string source, string key) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw new InvalidInputException($"{source}: \"{key}\" must be a whole number (32-bit), got {Describe(value)}.");

    private static bool ReadBoolean(JsonElement value, string source, string key) =>
        value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : throw new InvalidInputException($"{source}: \"{key}\" must be true or false, got {Describe(value)}.");

    private static T ReadEnum<T>(JsonElement value, string source, string key) where T : struct, Enum
    {
        if (value.ValueKind == JsonValueKind.String && JsonEnumNames<T>.TryParse(value.GetString()!, out var parsed))
            return parsed;
        throw new InvalidInputException(
            $"{source}: \"{key}\" must be one of {string.Join(", ", JsonEnumNames<T>.Names)}; got {Describe(value)}.");
    }

    private static void CheckEnum<T>(T value, string source, string key) where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new InvalidInputException(
                $"{source}: \"{key}\" must be one of {string.Join(", ", JsonEnumNames<T>.Names)}; got {value}.");
    }

    private static InvalidInputException Invalid(string source, string key, string allowed, double got) =>
        new($"{source}: \"{key}\" must be {allowed}, got {got.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{value.GetString()}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => value.GetRawText(),
    };
}

/// <summary>The JSON names of an enum's members (<see cref="JsonStringEnumMemberNameAttribute"/>), in declaration
/// order: one source for parsing and for the "must be one of" messages.</summary>
internal static class JsonEnumNames<T> where T : struct, Enum
{
    private static readonly (string Name, T Value)[] Members = typeof(T)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name, (T)f.GetValue(null)!))
        .ToArray();

    public static IReadOnlyList<string> Names { get; } = Members.Select(m => m.Name).ToArray();

    public static bool TryParse(string name, out T value)
    {
        foreach (var member in Members)
            if (member.Name == name)
            {
                value = member.Value;
                return true;
            }
        value = default;
        return false;
    }

    public static string NameOf(T value) => Members.First(m => EqualityComparer<T>.Default.Equals(m.Value, value)).Name;
}
