namespace CustomerAnalysis.Core.Evaluation;

/// <summary>
/// Scores churn probabilities (label 1 = churned, the positive class).
/// <list type="bullet">
/// <item>Accuracy, precision, recall, F1: a probability ≥ the threshold predicts churn. Precision (recall) is 0 when
/// nothing is predicted (labelled) churned.</item>
/// <item>ROC-AUC: the Mann–Whitney statistic — the chance a random churned user scores above a random returned one,
/// ties counting one half (average ranks). NaN when the labels hold one class only.</item>
/// <item>PR-AUC: average precision as scikit-learn defines it, Σ (R_k − R_{k−1}) · P_k over the distinct probability
/// thresholds from high to low (tied probabilities form one step; no interpolation). NaN with no churned user.</item>
/// <item>Log loss: mean negative log-likelihood with probabilities clipped to [1e-15, 1 − 1e-15], so a confident
/// mistake costs about 34.5 instead of infinity.</item>
/// <item>Brier score: mean squared difference between probability and label.</item>
/// <item>Expected calibration error (<c>ece</c>): over <see cref="CalibrationBins"/> equal-width probability bins,
/// Σ (examples in bin / all) · |mean probability in bin − churn rate in bin|.</item>
/// </list>
/// </summary>
public static class ChurnMetrics
{
    /// <summary>The clip applied to probabilities before taking logs.</summary>
    public const double LogLossEpsilon = 1e-15;

    /// <summary>Equal-width bins of [0, 1] for the calibration error and the reliability plot.</summary>
    public const int CalibrationBins = 10;

    public static ChurnReport Compute(int[] labels, double[] probabilities, double threshold)
    {
        Validate(labels, probabilities);
        if (!(threshold >= 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The churn threshold must be in [0, 1].");

        int truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0;
        double logLossSum = 0, squaredErrorSum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var churned = labels[i] == 1;
            var predictedChurn = probabilities[i] >= threshold;
            if (predictedChurn && churned) truePositives++;
            else if (predictedChurn) falsePositives++;
            else if (churned) falseNegatives++;
            else trueNegatives++;

            var clipped = Math.Clamp(probabilities[i], LogLossEpsilon, 1 - LogLossEpsilon);
            logLossSum -= churned ? Math.Log(clipped) : Math.Log(1 - clipped);
            var error = probabilities[i] - labels[i];
            squaredErrorSum += error * error;
        }

        var precision = NextEventMetrics.Ratio(truePositives, truePositives + falsePositives);
        var recall = NextEventMetrics.Ratio(truePositives, truePositives + falseNegatives);
        var scalars = new Dictionary<string, double>
        {
            [MetricNames.Accuracy] = (double)(truePositives + trueNegatives) / labels.Length,
            [MetricNames.Precision] = precision,
            [MetricNames.Recall] = recall,
            [MetricNames.F1] = NextEventMetrics.HarmonicMean(precision, recall),
            [MetricNames.RocAuc] = RocAuc(labels, probabilities),
            [MetricNames.PrAuc] = AveragePrecision(labels, probabilities),
            [MetricNames.LogLoss] = logLossSum / labels.Length,
            [MetricNames.Brier] = squaredErrorSum / labels.Length,
            [MetricNames.ExpectedCalibrationError] = ExpectedCalibrationError(labels, probabilities),
        };
        return new ChurnReport(labels.Length, threshold, scalars,
            truePositives, falsePositives, trueNegatives, falseNegatives);
    }

    /// <summary>The reliability diagram's points: per non-empty bin (low to high), the mean probability, the churn rate
    /// and the number of examples. A probability of exactly 1 falls in the last bin.</summary>
    public static IReadOnlyList<ReliabilityBin> Reliability(int[] labels, double[] probabilities, int bins = CalibrationBins)
    {
        Validate(labels, probabilities);
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "At least one bin.");
        var sums = new double[bins];
        var churned = new int[bins];
        var counts = new int[bins];
        for (var i = 0; i < labels.Length; i++)
        {
            var bin = Math.Min((int)(probabilities[i] * bins), bins - 1);
            sums[bin] += probabilities[i];
            churned[bin] += labels[i];
            counts[bin]++;
        }
        return Enumerable.Range(0, bins).Where(b => counts[b] > 0)
            .Select(b => new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, sums[b] / counts[b], (double)churned[b] / counts[b], counts[b]))
            .ToArray();
    }

    /// <summary>Σ over bins of (share of examples) · |mean probability − churn rate|: 0 when calibrated.</summary>
    public static double ExpectedCalibrationError(int[] labels, double[] probabilities, int bins = CalibrationBins) =>
        Reliability(labels, probabilities, bins).Sum(b => (double)b.Count / labels.Length * Math.Abs(b.MeanProbability - b.ChurnRate));

    /// <summary>Area under the ROC curve from average ranks (ties count one half); NaN if one class is missing.</summary>
    public static double RocAuc(int[] labels, double[] probabilities)
    {
        Validate(labels, probabilities);
        var order = SortedAscending(probabilities);
        double positiveRankSum = 0;
        long positives = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && probabilities[order[end + 1]] == probabilities[order[start]]) end++;
            // Ranks start..end (1-based: start+1..end+1) are shared by equal probabilities: each gets their mean.
            var averageRank = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++)
                if (labels[order[k]] == 1) { positiveRankSum += averageRank; positives++; }
            start = end + 1;
        }
        long negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>Average precision (see the class summary); NaN with no positive label.</summary>
    public static double AveragePrecision(int[] labels, double[] probabilities)
    {
        Validate(labels, probabilities);
        var positives = labels.Count(l => l == 1);
        if (positives == 0) return double.NaN;

        var descending = SortedAscending(probabilities).Reverse().ToArray();
        double averagePrecision = 0, previousRecall = 0;
        int truePositives = 0, predictedPositives = 0;
        for (var start = 0; start < descending.Length;)
        {
            var end = start;
            while (end + 1 < descending.Length && probabilities[descending[end + 1]] == probabilities[descending[start]]) end++;
            for (var k = start; k <= end; k++)
            {
                predictedPositives++;
                if (labels[descending[k]] == 1) truePositives++;
            }
            var recall = (double)truePositives / positives;
            var precision = (double)truePositives / predictedPositives;
            averagePrecision += (recall - previousRecall) * precision;
            previousRecall = recall;
            start = end + 1;
        }
        return averagePrecision;
    }

    /// <summary>
    /// The ROC curve from (FPR 0, TPR 0) to (1, 1): one point per distinct probability, high to low. Empty when the
    /// labels hold one class only (a rate would divide by zero).
    /// </summary>
    public static IReadOnlyList<RocPoint> RocCurve(int[] labels, double[] probabilities)
    {
        Validate(labels, probabilities);
        var positives = labels.Count(l => l == 1);
        var negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0) return [];

        var descending = SortedAscending(probabilities).Reverse().ToArray();
        var points = new List<RocPoint> { new(double.PositiveInfinity, 0, 0) };
        int truePositives = 0, falsePositives = 0;
        for (var start = 0; start < descending.Length;)
        {
            var end = start;
            while (end + 1 < descending.Length && probabilities[descending[end + 1]] == probabilities[descending[start]]) end++;
            for (var k = start; k <= end; k++)
                if (labels[descending[k]] == 1) truePositives++; else falsePositives++;
            points.Add(new RocPoint(probabilities[descending[start]],
                (double)falsePositives / negatives, (double)truePositives / positives));
            start = end + 1;
        }
        return points;
    }

    /// <summary>
    /// Indices of <paramref name="probabilities"/> sorted ascending by value. Equal values end up adjacent in no
    /// particular order; every caller treats them as one group, so that order never matters.
    /// </summary>
    private static int[] SortedAscending(double[] probabilities)
    {
        var order = Enumerable.Range(0, probabilities.Length).ToArray();
        var keys = (double[])probabilities.Clone();
        Array.Sort(keys, order);
        return order;
    }

    private static void Validate(int[] labels, double[] probabilities)
    {
        if (labels.Length == 0)
            throw new ArgumentException("No examples to score.", nameof(labels));
        if (probabilities.Length != labels.Length)
            throw new ArgumentException($"{probabilities.Length} probabilities for {labels.Length} labels.", nameof(probabilities));
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] is not (0 or 1))
                throw new ArgumentException($"Churn label {labels[i]} of example {i} is not 0 or 1.", nameof(labels));
            if (!(probabilities[i] >= 0 && probabilities[i] <= 1))
                throw new ArgumentException($"Probability {probabilities[i]} of example {i} is not in [0, 1].", nameof(probabilities));
        }
    }
}

/// <summary>One bin of a reliability diagram: probabilities in [<paramref name="Low"/>, <paramref name="High"/>).</summary>
public sealed record ReliabilityBin(double Low, double High, double MeanProbability, double ChurnRate, int Count);
