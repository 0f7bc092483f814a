namespace CustomerAnalysis.Core.Evaluation;

/// <summary>
/// Scores next-event predictions: one row of class scores per example against the true class.
/// <para>Definitions (fixed here so every report means the same thing):</para>
/// <list type="bullet">
/// <item>Rank of the true class = 1 + classes scoring higher + classes scoring the same with a lower id. Ties go to
/// the lower id (the more frequent event, by the vocabulary's order), exactly as the top-1 prediction does, so
/// top-1 accuracy, top-k accuracy and MRR agree with each other. Only the order within a row matters: probabilities
/// or logits give the same report.</item>
/// <item>Top-k accuracy: share of examples whose true class has rank ≤ k. MRR: mean of 1 / rank.</item>
/// <item>Per-class precision = TP / predicted, recall = TP / support, F1 = harmonic mean; each is 0 when its
/// denominator is 0 (scikit-learn's <c>zero_division=0</c>).</item>
/// <item>Macro averages are unweighted means over the classes that occur in the labels or in the top-1 predictions
/// (scikit-learn's default label set); classes in neither (e.g. &lt;PAD&gt;) are left out. Macro F1 is the mean of
/// per-class F1s, not the F1 of the macro precision and recall.</item>
/// <item>Micro averages pool all examples; with one label per example all three equal top-1 accuracy.</item>
/// </list>
/// </summary>
public static class NextEventMetrics
{
    /// <param name="labels">True class id per example.</param>
    /// <param name="scores">Row-major [example × class] scores, <c>labels.Length * classNames.Count</c> values.</param>
    /// <param name="classNames">Name of each class id (for events: the vocabulary's tokens).</param>
    public static NextEventReport Compute(int[] labels, ReadOnlySpan<float> scores, IReadOnlyList<string> classNames)
    {
        var classCount = classNames.Count;
        Validate(labels, scores, classCount);

        var predicted = new int[labels.Length];
        int top1Hits = 0, top3Hits = 0;
        double reciprocalRankSum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = scores.Slice(i * classCount, classCount);
            predicted[i] = ArgMax(row);
            var rank = RankOf(row, labels[i]);
            if (rank == 1) top1Hits++;
            if (rank <= 3) top3Hits++;
            reciprocalRankSum += 1.0 / rank;
        }

        var perClass = PerClass(labels, predicted, classNames);
        var top1 = (double)top1Hits / labels.Length;
        var macroPrecision = perClass.Average(c => c.Precision);
        var macroRecall = perClass.Average(c => c.Recall);
        var macroF1 = perClass.Average(c => c.F1);
        var scalars = new Dictionary<string, double>
        {
            [MetricNames.Top1Accuracy] = top1,
            [MetricNames.Top3Accuracy] = (double)top3Hits / labels.Length,
            [MetricNames.MeanReciprocalRank] = reciprocalRankSum / labels.Length,
            [MetricNames.MacroPrecision] = macroPrecision,
            [MetricNames.MacroRecall] = macroRecall,
            [MetricNames.MacroF1] = macroF1,
            // Every example has exactly one true and one predicted class: pooled TP / predicted = TP / true = accuracy.
            [MetricNames.MicroPrecision] = top1,
            [MetricNames.MicroRecall] = top1,
            [MetricNames.MicroF1] = top1,
            [MetricNames.Accuracy] = top1,
            [MetricNames.Precision] = macroPrecision,
            [MetricNames.Recall] = macroRecall,
            [MetricNames.F1] = macroF1,
        };
        return new NextEventReport(labels.Length, scalars, perClass, Confusion(labels, predicted, perClass), predicted);
    }

    /// <summary>The same, from one score row per example (e.g. <c>float[n][classes]</c>).</summary>
    public static NextEventReport Compute(int[] labels, IReadOnlyList<float[]> scoreRows, IReadOnlyList<string> classNames)
    {
        if (scoreRows.Count != labels.Length)
            throw new ArgumentException($"{scoreRows.Count} score rows for {labels.Length} labels.", nameof(scoreRows));
        var flat = new float[labels.Length * classNames.Count];
        for (var i = 0; i < scoreRows.Count; i++)
        {
            if (scoreRows[i].Length != classNames.Count)
                throw new ArgumentException(
                    $"Score row {i} has {scoreRows[i].Length} values for {classNames.Count} classes.", nameof(scoreRows));
            scoreRows[i].CopyTo(flat, i * classNames.Count);
        }
        return Compute(labels, flat, classNames);
    }

    /// <summary>Index of the highest score; the lowest index among equals.</summary>
    internal static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var c = 1; c < row.Length; c++)
            if (row[c] > row[best]) best = c;
        return best;
    }

    /// <summary>1-based rank of <paramref name="trueClass"/>, ties broken towards the lower id (see the class summary).</summary>
    internal static int RankOf(ReadOnlySpan<float> row, int trueClass)
    {
        var trueScore = row[trueClass];
        var rank = 1;
        for (var c = 0; c < row.Length; c++)
            if (row[c] > trueScore || (row[c] == trueScore && c < trueClass)) rank++;
        return rank;
    }

    private static List<ClassMetrics> PerClass(int[] labels, int[] predicted, IReadOnlyList<string> classNames)
    {
        var support = new int[classNames.Count];
        var predictedCount = new int[classNames.Count];
        var truePositives = new int[classNames.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            support[labels[i]]++;
            predictedCount[predicted[i]]++;
            if (labels[i] == predicted[i]) truePositives[labels[i]]++;
        }

        var result = new List<ClassMetrics>();
        for (var c = 0; c < classNames.Count; c++)
        {
            if (support[c] == 0 && predictedCount[c] == 0) continue;
            var precision = Ratio(truePositives[c], predictedCount[c]);
            var recall = Ratio(truePositives[c], support[c]);
            result.Add(new ClassMetrics(c, classNames[c], support[c], predictedCount[c], precision, recall,
                HarmonicMean(precision, recall)));
        }
        return result;
    }

    private static ConfusionMatrix Confusion(int[] labels, int[] predicted, List<ClassMetrics> classes)
    {
        var position = new Dictionary<int, int>();
        for (var i = 0; i < classes.Count; i++) position[classes[i].ClassId] = i;
        var counts = new int[classes.Count][];
        for (var i = 0; i < counts.Length; i++) counts[i] = new int[classes.Count];
        for (var i = 0; i < labels.Length; i++)
            counts[position[labels[i]]][position[predicted[i]]]++;
        return new ConfusionMatrix(classes.Select(c => c.ClassId).ToArray(), classes.Select(c => c.Name).ToArray(), counts);
    }

    internal static double Ratio(int numerator, int denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    internal static double HarmonicMean(double precision, double recall) =>
        precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);

    private static void Validate(int[] labels, ReadOnlySpan<float> scores, int classCount)
    {
        if (labels.Length == 0)
            throw new ArgumentException("No examples to score.", nameof(labels));
        if (classCount < 1)
            throw new ArgumentException("No classes: classNames is empty.", nameof(classCount));
        if (scores.Length != (long)labels.Length * classCount)
            throw new ArgumentException(
                $"{scores.Length} scores for {labels.Length} examples × {classCount} classes " +
                $"(expected {(long)labels.Length * classCount}).", nameof(scores));
        for (var i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"Label {labels[i]} of example {i} is outside 0..{classCount - 1}.", nameof(labels));
        for (var i = 0; i < scores.Length; i++)
            if (float.IsNaN(scores[i]))
                throw new ArgumentException($"Score {i % classCount} of example {i / classCount} is NaN.", nameof(scores));
    }
}
