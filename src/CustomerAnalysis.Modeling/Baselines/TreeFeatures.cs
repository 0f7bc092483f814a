using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Modeling.Baselines;

/// <summary>
/// The fixed-length feature rows the gradient-boosted-trees baseline learns from (dense floats; NaN = missing, which
/// LightGBM routes down its own branch). With <c>useTimeGaps</c> off (the original protocol, names only) every
/// time-derived feature is left out, so the trees see what the sequence model sees.
/// <list type="bullet">
/// <item>Churn, per user window: count of each token 1..V−1, length, distinct names, the last
/// <see cref="ChurnLastEvents"/> events one-hot (as next event's); with gaps also sessions (1 + gaps over 30 minutes,
/// GA4's default session timeout), span (seconds from first to last event), the mean, median and largest gap, the
/// events and seconds of the first and of the last session, how many gaps exceed 1 and 6 hours, and the last
/// <see cref="LastEvents"/> gaps (NaN where absent). How the window ends (what the user did last, and when) is what
/// tells a returning user from a leaving one; counts alone cannot say it (measured on the GA4 sample: README).</item>
/// <item>Next event: the last <see cref="LastEvents"/> events one-hot (position 1 = the last event; a shorter input
/// leaves the earlier positions all zero), count of each token 1..V−1, length; with gaps also the gaps of those last
/// events (NaN where absent) and the span.</item>
/// <item>With signals (<see cref="SignalWidth"/>): their one-hots, counts and numeric summaries appended.</item>
/// </list>
/// </summary>
internal static class TreeFeatures
{
    public const int LastEvents = 5;
    public const int ChurnLastEvents = 3;
    private const float SessionTimeoutSeconds = 30 * 60;
    private const float HourSeconds = 3600;
    /// <summary>Gap statistics: 5 over all gaps, 4 of the first and last session, 2 long-gap counts.</summary>
    private const int ChurnGapColumns = 5 + 4 + 2;

    /// <summary>The width of <see cref="Row"/>'s rows.</summary>
    public static int Width(PredictionTask task, int vocabularySize, bool useTimeGaps, SignalEncoding? signals) =>
        (task == PredictionTask.Churn ? ChurnWidth(vocabularySize, useTimeGaps) : NextEventWidth(vocabularySize, useTimeGaps))
        + SignalWidth(signals, nextEvent: task == PredictionTask.Events);

    /// <summary>One example's feature row for <paramref name="task"/>, signals included: what the trees learn from
    /// and what a wide-and-deep model's head reads (<c>aggregate_features: "trees"</c>).</summary>
    public static float[] Row(SequenceExample example, PredictionTask task, int vocabularySize, bool useTimeGaps, SignalEncoding? signals) =>
        task == PredictionTask.Churn
            ? WithSignals(Churn(example, vocabularySize, useTimeGaps), example, signals, nextEvent: false)
            : WithSignals(NextEvent(example, vocabularySize, useTimeGaps), example, signals, nextEvent: true);

    public static int ChurnWidth(int vocabularySize, bool useTimeGaps) =>
        ChurnCountColumns(vocabularySize) + ChurnLastEvents * vocabularySize + (useTimeGaps ? ChurnGapColumns + LastEvents : 0);

    /// <summary>Churn's leading columns: the count of each token 1..V−1, length, distinct names.</summary>
    private static int ChurnCountColumns(int vocabularySize) => vocabularySize - 1 + 2;

    /// <summary>The first churn layout's gap columns: sessions, span, mean, median and largest gap (the first of
    /// <see cref="ChurnGapColumns"/>).</summary>
    private const int ChurnFirstLayoutGapColumns = 5;

    /// <summary>The width of the churn rows (signals left out) before the last events and window-end columns were
    /// added: counts, length, distinct names and, with gaps, sessions, span, mean, median and largest gap.</summary>
    public static int ChurnFirstLayoutWidth(int vocabularySize, bool useTimeGaps) =>
        ChurnCountColumns(vocabularySize) + (useTimeGaps ? ChurnFirstLayoutGapColumns : 0);

    /// <summary>A <see cref="Row"/> churn row (signals included) cut to the first layout's columns, in their order:
    /// what trees saved before the window-end columns were fitted on.</summary>
    public static float[] ChurnFirstLayout(float[] row, int vocabularySize, bool useTimeGaps)
    {
        var counts = ChurnCountColumns(vocabularySize);
        var gapsAt = counts + ChurnLastEvents * vocabularySize;
        var gapColumns = useTimeGaps ? ChurnFirstLayoutGapColumns : 0;
        var tailAt = ChurnWidth(vocabularySize, useTimeGaps);
        var result = new float[counts + gapColumns + row.Length - tailAt];
        Array.Copy(row, 0, result, 0, counts);
        Array.Copy(row, gapsAt, result, counts, gapColumns);
        Array.Copy(row, tailAt, result, counts + gapColumns, row.Length - tailAt);
        return result;
    }

    public static int NextEventWidth(int vocabularySize, bool useTimeGaps) =>
        LastEvents * vocabularySize + vocabularySize - 1 + 1 + (useTimeGaps ? LastEvents + 1 : 0);

    public static float[] Churn(SequenceExample example, int vocabularySize, bool useTimeGaps)
    {
        var row = new float[ChurnWidth(vocabularySize, useTimeGaps)];
        var tokens = example.Tokens;
        var at = WriteCounts(tokens, vocabularySize, row);
        row[at++] = tokens.Length;
        row[at++] = tokens.Distinct().Count();
        for (var position = 0; position < ChurnLastEvents && position < tokens.Length; position++)
            row[at + position * vocabularySize + Token(tokens[^(position + 1)], vocabularySize)] = 1;
        at += ChurnLastEvents * vocabularySize;
        if (!useTimeGaps) return row;

        // Gaps between events: GapSeconds[0] is always 0 (nothing before the first kept event).
        var all = example.GapSeconds;
        var gaps = all.Length > 1 ? all[1..] : [];
        row[at++] = 1 + gaps.Count(g => g > SessionTimeoutSeconds);
        row[at++] = gaps.Sum();
        if (gaps.Length == 0)
        {
            row[at++] = float.NaN;
            row[at++] = float.NaN;
            row[at++] = float.NaN;
        }
        else
        {
            row[at++] = gaps.Average();
            row[at++] = Median(gaps);
            row[at++] = gaps.Max();
        }

        // Sessions split at gaps over the timeout: the first runs to the first such gap, the last from the last one.
        int firstSessionEnd = all.Length, lastSessionStart = 0;
        for (var i = 1; i < all.Length; i++)
        {
            if (all[i] <= SessionTimeoutSeconds) continue;
            if (firstSessionEnd == all.Length) firstSessionEnd = i;
            lastSessionStart = i;
        }
        row[at++] = firstSessionEnd;
        row[at++] = Seconds(all, 0, firstSessionEnd);
        row[at++] = all.Length - lastSessionStart;
        row[at++] = Seconds(all, lastSessionStart, all.Length);
        row[at++] = gaps.Count(g => g > HourSeconds);
        row[at++] = gaps.Count(g => g > 6 * HourSeconds);
        for (var position = 0; position < LastEvents; position++)
            row[at++] = position < all.Length - 1 ? all[^(position + 1)] : float.NaN;
        return row;
    }

    /// <summary>Seconds from event <paramref name="start"/> to event <paramref name="end"/> − 1.</summary>
    private static float Seconds(float[] gapSeconds, int start, int end)
    {
        float sum = 0;
        for (var i = start + 1; i < end; i++) sum += gapSeconds[i];
        return sum;
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

    /// <summary>Columns the signals add (0 without): per user feature its token one-hot; per event categorical
    /// feature the count of each token over the input (next event: also the last event's token one-hot); per numeric
    /// feature the last, mean and largest present value and the share of events that have one.</summary>
    public static int SignalWidth(SignalEncoding? signals, bool nextEvent) => signals is null ? 0
        : signals.UserCategorical.Sum(SignalEncoding.VocabularySize)
          + signals.EventCategorical.Sum(SignalEncoding.VocabularySize) * (nextEvent ? 2 : 1)
          + signals.EventNumeric.Count * 4;

    /// <summary><paramref name="row"/> followed by the example's signal columns (<see cref="SignalWidth"/>).</summary>
    public static float[] WithSignals(float[] row, SequenceExample example, SignalEncoding? signals, bool nextEvent)
    {
        if (signals is null) return row;
        var values = example.Signals ?? throw new Core.InvalidInputException($"Example '{example.Id}' has no signals, but the trees use them.");
        var result = new float[row.Length + SignalWidth(signals, nextEvent)];
        row.CopyTo(result, 0);
        var at = row.Length;
        for (var f = 0; f < signals.UserCategorical.Count; f++)
        {
            result[at + values.User[f]] = 1;
            at += SignalEncoding.VocabularySize(signals.UserCategorical[f]);
        }
        for (var f = 0; f < signals.EventCategorical.Count; f++)
        {
            var size = SignalEncoding.VocabularySize(signals.EventCategorical[f]);
            var tokens = values.Categorical[f];
            foreach (var token in tokens) result[at + token]++;
            at += size;
            if (!nextEvent) continue;
            if (tokens.Length > 0) result[at + tokens[^1]] = 1;
            at += size;
        }
        for (var f = 0; f < signals.EventNumeric.Count; f++)
        {
            var present = values.Numeric[f].Where(v => v is not null).Select(v => v!.Value).ToArray();
            result[at++] = values.Numeric[f].Length > 0 && values.Numeric[f][^1] is { } last ? last : float.NaN;
            result[at++] = present.Length > 0 ? present.Average() : float.NaN;
            result[at++] = present.Length > 0 ? present.Max() : float.NaN;
            result[at++] = values.Numeric[f].Length > 0 ? (float)present.Length / values.Numeric[f].Length : 0;
        }
        return result;
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
