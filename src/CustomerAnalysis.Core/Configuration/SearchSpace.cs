using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CustomerAnalysis.Core.Configuration;

/// <summary>How the trials of <c>grid_search_params</c> are chosen (<c>pipeline_params.search</c>).</summary>
public enum SearchKind
{
    /// <summary>Every combination of the listed values (the cartesian product), in order.</summary>
    Grid,
    /// <summary><c>search_trials</c> points drawn from the lists and ranges with <c>search_seed</c>.</summary>
    Random,
    /// <summary>As <see cref="Random"/> (or the full grid when every entry is a list and <c>search_trials</c> is 0),
    /// and each trial is stopped at a rung (epoch <c>asha_min_epochs·η^k</c>) when it is not in the top 1/η of the
    /// trials that reached that rung (asynchronous successive halving).</summary>
    Asha,
}

public static class SearchKinds
{
    public static readonly string[] Names = ["grid", "random", "asha"];

    public static SearchKind Parse(string name) => name switch
    {
        "random" => SearchKind.Random,
        "asha" => SearchKind.Asha,
        _ => SearchKind.Grid,
    };

    public static string Name(SearchKind kind) => Names[(int)kind];
}

/// <summary>One entry of <c>grid_search_params</c>: a setting and the values it may take.</summary>
/// <remarks>Written in the config as a list (<c>[a, b]</c>, the same as <c>{"choice": [a, b]}</c>), or an object
/// with one distribution: <c>{"uniform": [low, high]}</c>, <c>{"log_uniform": [low, high]}</c> (low &gt; 0),
/// <c>{"int_uniform": [low, high]}</c> (integers, both ends included). Ranges need <c>search</c> random or asha.</remarks>
public abstract record SearchDimension(string Key)
{
    public static readonly string[] DistributionNames = ["choice", "uniform", "log_uniform", "int_uniform"];

    /// <summary>One value for this setting, drawn with <paramref name="random"/>.</summary>
    public abstract JsonNode Draw(SearchRandom random);

    /// <summary>Values that must be valid for the setting (a list's values, a range's ends): checked at parse.</summary>
    public abstract IEnumerable<JsonNode> ValuesToCheck();

    internal static SearchDimension Parse(string key, JsonNode? node, string at)
    {
        if (node is JsonArray array) return Choice.Of(key, array, at);
        if (node is not JsonObject { Count: 1 } spec)
            throw new InvalidInputException(
                $"Setting {at} must be a non-empty array of values or an object with one of {Quoted(DistributionNames)} " +
                $"(e.g. {{\"log_uniform\": [0.0001, 0.01]}}), not {Shown(node)}.");
        var (name, arguments) = spec.Single();
        switch (name)
        {
            case "choice":
                return arguments is JsonArray values
                    ? Choice.Of(key, values, at + ".choice")
                    : throw new InvalidInputException($"Setting {at}.choice must be a non-empty array of values, not {Shown(arguments)}.");
            case "uniform":
            {
                var (low, high) = Bounds(arguments, at + ".uniform", integers: false);
                return new Uniform(key, low, high);
            }
            case "log_uniform":
            {
                var (low, high) = Bounds(arguments, at + ".log_uniform", integers: false);
                if (low <= 0)
                    throw new InvalidInputException($"Setting {at}.log_uniform must have low > 0 (a log scale), not {Shown(arguments)}.");
                return new LogUniform(key, low, high);
            }
            case "int_uniform":
            {
                var (low, high) = Bounds(arguments, at + ".int_uniform", integers: true);
                return new IntUniform(key, (long)low, (long)high);
            }
            default:
                throw new InvalidInputException(
                    $"Unknown distribution {at}.{name}; allowed: {Quoted(DistributionNames)}.");
        }
    }

    private static (double Low, double High) Bounds(JsonNode? arguments, string at, bool integers)
    {
        var allowed = integers ? "a pair of integers [low, high] with low < high" : "a pair of numbers [low, high] with low < high";
        if (arguments is not JsonArray { Count: 2 } pair
            || pair[0]?.GetValueKind() != JsonValueKind.Number || pair[1]?.GetValueKind() != JsonValueKind.Number)
            throw new InvalidInputException($"Setting {at} must be {allowed}, not {Shown(arguments)}.");
        var (low, high) = (pair[0]!.GetValue<double>(), pair[1]!.GetValue<double>());
        if (!(low < high) || !double.IsFinite(low) || !double.IsFinite(high)
            || (integers && (low != Math.Floor(low) || high != Math.Floor(high))))
            throw new InvalidInputException($"Setting {at} must be {allowed}, not {Shown(arguments)}.");
        return (low, high);
    }

    private static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"\"{n}\""));

    internal static string Shown(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length <= 60 ? text : text[..60] + "…";
    }

    /// <summary>A list of values (each drawn with the same chance).</summary>
    public sealed record Choice(string Key, IReadOnlyList<JsonNode> Values) : SearchDimension(Key)
    {
        internal static Choice Of(string key, JsonArray array, string at)
        {
            if (array.Count == 0 || array.Any(v => v is null))
                throw new InvalidInputException($"Setting {at} must be a non-empty array of values (no nulls).");
            return new Choice(key, array.Select(v => v!.DeepClone()).ToArray());
        }

        public override JsonNode Draw(SearchRandom random) => Values[random.NextInt(Values.Count)].DeepClone();
        public override IEnumerable<JsonNode> ValuesToCheck() => Values;
    }

    public sealed record Uniform(string Key, double Low, double High) : SearchDimension(Key)
    {
        public override JsonNode Draw(SearchRandom random) => Number(Round(Low + (High - Low) * random.NextDouble()));
        public override IEnumerable<JsonNode> ValuesToCheck() => [Number(Low), Number(High)];
    }

    /// <summary>Uniform in log space: each decade between the ends is as likely (learning rates, penalties).</summary>
    public sealed record LogUniform(string Key, double Low, double High) : SearchDimension(Key)
    {
        public override JsonNode Draw(SearchRandom random) =>
            Number(Math.Clamp(Round(Math.Exp(Math.Log(Low) + (Math.Log(High) - Math.Log(Low)) * random.NextDouble())), Low, High));
        public override IEnumerable<JsonNode> ValuesToCheck() => [Number(Low), Number(High)];
    }

    /// <summary>An integer from low to high, both included.</summary>
    public sealed record IntUniform(string Key, long Low, long High) : SearchDimension(Key)
    {
        public override JsonNode Draw(SearchRandom random) => Number(Low + random.NextInt((int)Math.Min(int.MaxValue, High - Low + 1)));
        public override IEnumerable<JsonNode> ValuesToCheck() => [Number(Low), Number(High)];
    }

    /// <summary>A number as the file would hold it (parsed JSON), so the settings reader takes it as it takes the
    /// file's values (an integer setting accepts 8, not 8L).</summary>
    private static JsonNode Number(double value) => JsonNode.Parse(value.ToString("R", CultureInfo.InvariantCulture))!;

    private static JsonNode Number(long value) => JsonNode.Parse(value.ToString(CultureInfo.InvariantCulture))!;

    /// <summary>4 significant digits: a sampled 0.0012345678 is shown (and stored) as 0.001235, the same on every
    /// machine since it is rounded from the same double.</summary>
    private static double Round(double value)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        var digits = 3 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        return digits is >= 0 and <= 15
            ? Math.Round(value, digits)
            : double.Parse(value.ToString("G4", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}

/// <summary>A small seeded generator (SplitMix64) whose sequence is fixed by this code, not by the runtime's
/// <see cref="Random"/>: a search's trials stay the same for a seed on every .NET version.</summary>
public sealed class SearchRandom(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="count"/>).</summary>
    public int NextInt(int count) => (int)(NextDouble() * count);
}
