using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>How one signal field is encoded: a categorical field by its vocabulary (<see cref="Tokens"/>), a numeric
/// one by its scaler (log(1 + max(0, x)), then standardised with <see cref="Mean"/> and <see cref="Std"/>).</summary>
public sealed record SignalFeature(
    [property: JsonPropertyName("field")] SignalField Field,
    [property: JsonPropertyName("tokens"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Tokens = null,
    [property: JsonPropertyName("mean"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Mean = null,
    [property: JsonPropertyName("std"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Std = null);

/// <summary>
/// The vocabularies and scalers of a prepared dataset's signals, fitted on its training split only (nothing of
/// validation or test leaks into them), kept in the manifest and in checkpoints so that serving encodes alike.
/// <list type="bullet">
/// <item>Categorical vocabularies: <c>&lt;PAD&gt;</c> = 0, <c>&lt;MISSING&gt;</c> = 1, <c>&lt;OBFUSCATED&gt;</c> = 2,
/// <c>&lt;OTHER&gt;</c> = 3 (a value outside the cap or never seen in training), then the training split's most
/// frequent values (at most the cap, ties by value).</item>
/// <item>Numeric fields: missing stays missing (null in the files; the models see a presence flag).</item>
/// </list>
/// The features come in three groups, each in <see cref="SignalSet"/> order: event categorical, event numeric, user
/// categorical (<see cref="SignalScope.User"/>: one value per sequence, from its first event).
/// </summary>
public sealed class SignalEncoding
{
    public const int Pad = 0;
    public const int Missing = 1;
    public const int Obfuscated = 2;
    public const int Other = 3;
    public const string OtherToken = "<OTHER>";
    private static readonly string[] Reserved = [Vocabulary.PadToken, Signals.MissingToken, Signals.ObfuscatedToken, OtherToken];

    private readonly Dictionary<string, int>[] _ids;

    public SignalEncoding(IReadOnlyList<SignalFeature> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        Features = features.ToArray();
        Set = new SignalSet(Features.Select(f => f.Field));
        if (Set.Fields.Count != Features.Count) throw new ArgumentException("A signal appears twice.", nameof(features));
        foreach (var feature in Features)
        {
            var categorical = Signals.KindOf(feature.Field) == SignalKind.Categorical;
            if (categorical && (feature.Tokens is null || feature.Tokens.Count < Reserved.Length
                                || !feature.Tokens.Take(Reserved.Length).SequenceEqual(Reserved)))
                throw new ArgumentException($"Signal {Signals.Name(feature.Field)}: a vocabulary starts with {string.Join(", ", Reserved)}.", nameof(features));
            if (!categorical && (feature.Mean is not { } mean || !double.IsFinite(mean) || feature.Std is not { } std || !(std > 0)))
                throw new ArgumentException($"Signal {Signals.Name(feature.Field)}: a numeric signal needs a finite mean and a std > 0.", nameof(features));
        }
        EventCategorical = Features.Where(f => Signals.KindOf(f.Field) == SignalKind.Categorical && Signals.ScopeOf(f.Field) == SignalScope.Event).ToArray();
        EventNumeric = Features.Where(f => Signals.KindOf(f.Field) == SignalKind.Numeric).ToArray();
        UserCategorical = Features.Where(f => Signals.KindOf(f.Field) == SignalKind.Categorical && Signals.ScopeOf(f.Field) == SignalScope.User).ToArray();
        _ids = Features.Select(f => f.Tokens is null ? new Dictionary<string, int>()
            : f.Tokens.Select((t, i) => (t, i)).Skip(Reserved.Length).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal)).ToArray();
    }

    public IReadOnlyList<SignalFeature> Features { get; }
    public SignalSet Set { get; }
    public IReadOnlyList<SignalFeature> EventCategorical { get; }
    public IReadOnlyList<SignalFeature> EventNumeric { get; }
    public IReadOnlyList<SignalFeature> UserCategorical { get; }

    /// <summary>Fits the encoding on training values. <paramref name="categoryCounts"/>: per categorical field (in
    /// <see cref="SignalSet.Categorical"/> order) the count of each real value; <paramref name="numericValues"/>: per
    /// numeric field its present raw values.</summary>
    public static SignalEncoding Fit(SignalSet set, IReadOnlyList<IReadOnlyDictionary<string, long>> categoryCounts,
        IReadOnlyList<IEnumerable<float>> numericValues, int vocabularyCap)
    {
        var features = new List<SignalFeature>();
        foreach (var field in set.Fields)
        {
            var index = set.IndexOf(field);
            if (Signals.KindOf(field) == SignalKind.Categorical)
            {
                var top = categoryCounts[index].OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
                    .Take(vocabularyCap).Select(c => c.Key);
                features.Add(new SignalFeature(field, Tokens: [.. Reserved, .. top]));
            }
            else
            {
                double sum = 0, squares = 0;
                long count = 0;
                foreach (var value in numericValues[index])
                {
                    var t = Transform(value);
                    sum += t;
                    squares += t * t;
                    count++;
                }
                var mean = count == 0 ? 0 : sum / count;
                var variance = count == 0 ? 0 : Math.Max(0, squares / count - mean * mean);
                features.Add(new SignalFeature(field, Mean: mean, Std: variance > 1e-12 ? Math.Sqrt(variance) : 1));
            }
        }
        return new SignalEncoding(features);
    }

    /// <summary>The number of tokens of a categorical feature.</summary>
    public static int VocabularySize(SignalFeature feature) => feature.Tokens?.Count ?? 0;

    /// <summary>A table value (or a marker) as a token of <paramref name="feature"/>.</summary>
    public int Encode(SignalFeature feature, string value)
    {
        if (value == Signals.MissingToken) return Missing;
        if (value == Signals.ObfuscatedToken) return Obfuscated;
        var ids = _ids[IndexOf(feature)];
        return ids.GetValueOrDefault(value, Other);
    }

    /// <summary>A raw text as serving receives it: cleaned and marked as the readers do, then encoded.</summary>
    public int EncodeRaw(SignalFeature feature, string? raw)
    {
        if (raw is null) return Missing;
        var marker = Signals.Marker(raw);
        if (marker == Signals.Missing) return Missing;
        if (marker == Signals.Obfuscated) return Obfuscated;
        var clean = Signals.Clean(feature.Field, raw);
        return Signals.Marker(clean) switch
        {
            Signals.Missing => Missing,
            Signals.Obfuscated => Obfuscated,
            _ => Encode(feature, clean),
        };
    }

    /// <summary>A raw number scaled (null stays null: missing).</summary>
    public static float? Scale(SignalFeature feature, float raw) =>
        float.IsNaN(raw) ? null : (float)((Transform(raw) - feature.Mean!.Value) / feature.Std!.Value);

    private static double Transform(float value) => Math.Log(1 + Math.Max(0, (double)value));

    private int IndexOf(SignalFeature feature)
    {
        for (var i = 0; i < Features.Count; i++)
            if (Features[i].Field == feature.Field) return i;
        throw new ArgumentException($"Signal {Signals.Name(feature.Field)} is not in this encoding.", nameof(feature));
    }
}

/// <summary>
/// An example's signals, encoded (<see cref="SignalEncoding"/>) and aligned with its tokens:
/// <see cref="Categorical"/>[f][i] the token of event categorical feature f at event i, <see cref="Numeric"/>[f][i]
/// the scaled value of numeric feature f (null = missing), <see cref="User"/>[f] the token of user feature f.
/// </summary>
public sealed record ExampleSignals(
    [property: JsonPropertyName("categorical")] int[][] Categorical,
    [property: JsonPropertyName("numeric")] float?[][] Numeric,
    [property: JsonPropertyName("user")] int[] User);
