using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Modeling.Baselines;

/// <summary>
/// The fixed-length feature rows the gradient-boosted-trees baseline learns from (dense floats; NaN = missing, which
/// LightGBM routes down its own branch). With <c>useTimeGaps</c> off (the original protocol, names only) every
/// time-derived feature is left out, so the trees see what the sequence model sees.
/// <list type="bullet">
/// <item>Churn, per user window: count of each token 1..V−1, length, distinct names; with gaps also sessions
/// (1 + gaps over 30 minutes, GA4's default session timeout), span (seconds from first to last event) and the mean,
/// median and largest gap.</item>
/// <item>Next event: the last <see cref="LastEvents"/> events one-hot (position 1 = the last event; a shorter input
/// leaves the earlier positions all zero), count of each token 1..V−1, length; with gaps also the gaps of those last
/// events (NaN where absent) and the span.</item>
/// </list>
/// </summary>
internal static class TreeFeatures
{
    public const int LastEvents = 5;
    private const float SessionTimeoutSeconds = 30 * 60;

    public static int ChurnWidth(int vocabularySize, bool useTimeGaps) => vocabularySize - 1 + 2 + (useTimeGaps ? 5 : 0);

    public static int NextEventWidth(int vocabularySize, bool useTimeGaps) =>
        LastEvents * vocabularySize + vocabularySize - 1 + 1 + (useTimeGaps ? LastEvents + 1 : 0);

    public static float[] Churn(SequenceExample example, int vocabularySize, bool useTimeGaps)
    {
        var row = new float[ChurnWidth(vocabularySize, useTimeGaps)];
        var at = WriteCounts(example.Tokens, vocabularySize, row);
        row[at++] = example.Tokens.Length;
        row[at++] = example.Tokens.Distinct().Count();
        if (!useTimeGaps) return row;

        // Gaps between events: GapSeconds[0] is always 0 (nothing before the first kept event).
        var gaps = example.GapSeconds.Length > 1 ? example.GapSeconds[1..] : [];
        row[at++] = 1 + gaps.Count(g => g > SessionTimeoutSeconds);
        row[at++] = gaps.Sum();
        if (gaps.Length == 0)
        {
            row[at++] = float.NaN;
            row[at++] = float.NaN;
            row[at] = float.NaN;
            return row;
        }
        row[at++] = gaps.Average();
        row[at++] = Median(gaps);
        row[at] = gaps.Max();
        return row;
    }

    public static float[] NextEvent(SequenceExample example, int vocabularySize, bool useTimeGaps)
    {
        var row = new float[NextEventWidth(vocabularySize, useTimeGaps)];
        var tokens = example.Tokens;
        for (var position = 0; position < LastEvents && position < tokens.Length; position++)
            row[position * vocabularySize + Token(tokens[^(position + 1)], vocabularySize)] = 1;
        var at = LastEvents * vocabularySize;
        at = WriteCounts(tokens, vocabularySize, row, at);
        row[at++] = tokens.Length;
        if (!useTimeGaps) return row;

        var gaps = example.GapSeconds;
        for (var position = 0; position < LastEvents; position++)
            // The first kept event's gap is always 0 and says nothing: it counts as missing too.
            row[at++] = position < gaps.Length - 1 ? gaps[^(position + 1)] : float.NaN;
        row[at] = gaps.Length > 1 ? gaps[1..].Sum() : 0;
        return row;
    }

    /// <summary>Counts of tokens 1..V−1 from <paramref name="at"/>; returns the index after them.</summary>
    private static int WriteCounts(int[] tokens, int vocabularySize, float[] row, int at = 0)
    {
        foreach (var token in tokens)
        {
            var id = Token(token, vocabularySize);
            if (id != Vocabulary.Pad) row[at + id - 1]++;
        }
        return at + vocabularySize - 1;
    }

    /// <summary>A token outside the vocabulary (only with a mismatched dataset) counts as &lt;UNK&gt;.</summary>
    private static int Token(int token, int vocabularySize) => (uint)token < (uint)vocabularySize ? token : Vocabulary.Unk;

    private static float Median(float[] values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
