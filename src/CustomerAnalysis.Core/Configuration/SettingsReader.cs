using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Core.Configuration;

/// <summary>
/// Reads typed settings out of one JSON object (one config group), remembering which keys were asked for so that
/// any other key can be reported as unknown. Every error names the key (as <c>group.key</c>) and what is allowed.
/// </summary>
internal sealed class SettingsReader(JsonObject group, string groupName)
{
    private readonly HashSet<string> _knownKeys = new(StringComparer.Ordinal);

    /// <summary>The keys read so far: after a parse, every key the group accepts.</summary>
    public IReadOnlySet<string> KnownKeys => _knownKeys;

    public int Int(string key, int defaultValue, int min, int max = int.MaxValue)
    {
        var node = Take(key);
        if (node is null) return defaultValue;
        if (node.GetValueKind() != JsonValueKind.Number || !node.AsValue().TryGetValue(out int value))
            throw Invalid(key, $"an integer from {min} to {max}", node);
        if (value < min || value > max) throw Invalid(key, $"an integer from {min} to {max}", node);
        return value;
    }

    public double Double(string key, double defaultValue, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        var node = Take(key);
        if (node is null) return defaultValue;
        var allowed = $"a number {(minExclusive ? ">" : ">=")} {Format(min)} and {(maxExclusive ? "<" : "<=")} {Format(max)}";
        if (node.GetValueKind() != JsonValueKind.Number) throw Invalid(key, allowed, node);
        var value = node.GetValue<double>();
        if (value < min || (minExclusive && value == min) || value > max || (maxExclusive && value == max))
            throw Invalid(key, allowed, node);
        return value;
    }

    public bool Bool(string key, bool defaultValue)
    {
        var node = Take(key);
        if (node is null) return defaultValue;
        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(key, "true or false", node),
        };
    }

    /// <summary>A string from a fixed set (compared ignoring case, returned as spelled in <paramref name="allowed"/>).</summary>
    public string Choice(string key, string defaultValue, params string[] allowed)
    {
        var node = Take(key);
        if (node is null) return defaultValue;
        var description = "one of " + string.Join(", ", allowed.Select(a => $"\"{a}\""));
        if (node.GetValueKind() != JsonValueKind.String) throw Invalid(key, description, node);
        var text = node.GetValue<string>();
        return allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase))
            ?? throw Invalid(key, description, node);
    }

    /// <summary>A <c>[low, high]</c> pair with low &lt; high.</summary>
    public (double Low, double High) Range(string key, (double Low, double High) defaultValue)
    {
        var node = Take(key);
        if (node is null) return defaultValue;
        const string allowed = "a pair of numbers [low, high] with low < high";
        if (node is not JsonArray { Count: 2 } pair
            || pair[0]?.GetValueKind() != JsonValueKind.Number || pair[1]?.GetValueKind() != JsonValueKind.Number)
            throw Invalid(key, allowed, node);
        var (low, high) = (pair[0]!.GetValue<double>(), pair[1]!.GetValue<double>());
        if (!(low < high)) throw Invalid(key, allowed, node);
        return (low, high);
    }

    /// <summary>Whether the group sets <paramref name="key"/> (which counts as known).</summary>
    public bool Has(string key)
    {
        _knownKeys.Add(key);
        return group.ContainsKey(key);
    }

    /// <summary>Call after reading every setting: any key not read is a mistake (a typo, or a setting of another group).</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (key, _) in group)
            if (!_knownKeys.Contains(key))
                throw new InvalidInputException(
                    $"Unknown setting {groupName}.{key}; allowed keys: {string.Join(", ", _knownKeys.Order(StringComparer.Ordinal))}.");
    }

    private JsonNode? Take(string key)
    {
        _knownKeys.Add(key);
        if (!group.TryGetPropertyValue(key, out var node)) return null;
        if (node is null) throw new InvalidInputException($"Setting {groupName}.{key} is null; leave it out to use the default.");
        return node;
    }

    private InvalidInputException Invalid(string key, string allowed, JsonNode node) =>
        new($"Setting {groupName}.{key} must be {allowed}, not {node.ToJsonString()}.");

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
