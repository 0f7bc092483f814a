namespace CustomerAnalysis.Core.Preparation;

internal enum SplitPart : byte
{
    Train,
    Validation,
    Test,
}

/// <summary>
/// Deals units (a user with all their sequences, or one sequence) into train/validation/test.
/// Units are shuffled by a seeded hash of their key (a user id or sequence id), not by their position in memory, so the
/// split depends only on the seed and the keys. The shuffled units are then cut at the ratios by cumulative weight
/// (the unit's number of sequences): a unit goes to the part its weight's midpoint falls in, which gives each part
/// round(ratio × total) sequences when every unit weighs 1.
/// </summary>
internal static class SplitAssigner
{
    /// <param name="keys">One key per unit; keys are distinct.</param>
    /// <param name="weights">Sequences per unit.</param>
    /// <returns>The part of each unit.</returns>
    public static SplitPart[] Assign(IReadOnlyList<string> keys, IReadOnlyList<int> weights, SplitRatios ratios, int seed) =>
        Assign(ShuffledOrder(keys, seed), weights, ratios);

    /// <param name="shuffledOrder">The units in <see cref="ShuffledOrder"/> of their keys (for a caller that needs
    /// the order too: hashing and sorting the keys is the costly part).</param>
    public static SplitPart[] Assign(int[] shuffledOrder, IReadOnlyList<int> weights, SplitRatios ratios)
    {
        double total = 0;
        foreach (var weight in weights) total += weight;
        var trainEnd = total * ratios.Train;
        var validationEnd = total * (ratios.Train + ratios.Validation);

        var parts = new SplitPart[shuffledOrder.Length];
        double before = 0;
        foreach (var unit in shuffledOrder)
        {
            var midpoint = before + weights[unit] / 2.0;
            parts[unit] = midpoint < trainEnd ? SplitPart.Train
                : midpoint < validationEnd ? SplitPart.Validation
                : SplitPart.Test;
            before += weights[unit];
        }
        return parts;
    }

    /// <summary>Unit indexes ordered by the seeded hash of their key (ties, near impossible, by key).</summary>
    public static int[] ShuffledOrder(IReadOnlyList<string> keys, int seed)
    {
        var hashes = new ulong[keys.Count];
        var units = new int[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            hashes[i] = StableHash(keys[i], seed);
            units[i] = i;
        }
        Array.Sort(hashes, units);
        OrderHashTiesByKey(hashes, units, keys);
        return units;
    }

    /// <summary>FNV-1a over the key's UTF-16 code units, seeded and finished with the SplitMix64 mixer: stable across
    /// processes and .NET versions (unlike <see cref="string.GetHashCode()"/>).</summary>
    internal static ulong StableHash(string key, int seed)
    {
        var hash = 14695981039346656037UL ^ Mix((ulong)(uint)seed);
        foreach (var c in key)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return Mix(hash);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Equal hashes are near impossible but would otherwise leave the order to the sort algorithm.</summary>
    private static void OrderHashTiesByKey(ulong[] hashes, int[] units, IReadOnlyList<string> keys)
    {
        for (var start = 0; start < hashes.Length;)
        {
            var end = start + 1;
            while (end < hashes.Length && hashes[end] == hashes[start]) end++;
            if (end - start > 1)
                Array.Sort(units, start, end - start, Comparer<int>.Create((a, b) => string.CompareOrdinal(keys[a], keys[b])));
            start = end;
        }
    }
}
