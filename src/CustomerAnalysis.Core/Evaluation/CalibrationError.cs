namespace CustomerAnalysis.Core.Evaluation;

/// <summary>
/// How far to trust an expected calibration error measured on a few hundred users. The headline <c>ece</c>
/// (<see cref="ChurnMetrics.ExpectedCalibrationError"/>: 10 equal-width bins) is biased upwards on a small split:
/// even labels drawn from the probabilities themselves (perfect calibration) give a positive ECE, about
/// Σ (share in bin) · √(2/π · p(1−p) / users in bin). So beside it: the same over equal-mass bins (each bin as many
/// users; no nearly empty high bins), a bootstrap interval over users, and that perfect-calibration floor.
/// </summary>
public static class CalibrationError
{
    /// <summary>ECE over <paramref name="bins"/> bins holding equal numbers of users (by rank of probability; tied
    /// probabilities may straddle a boundary).</summary>
    public static double EqualMass(int[] labels, double[] probabilities, int bins = ChurnMetrics.CalibrationBins)
    {
        if (labels.Length == 0) throw new ArgumentException("No examples to score.", nameof(labels));
        var order = Enumerable.Range(0, probabilities.Length).OrderBy(i => probabilities[i]).ToArray();
        double total = 0;
        for (var b = 0; b < bins; b++)
        {
            int start = b * order.Length / bins, end = (b + 1) * order.Length / bins;
            if (end <= start) continue;
            double probability = 0, churned = 0;
            for (var k = start; k < end; k++)
            {
                probability += probabilities[order[k]];
                churned += labels[order[k]];
            }
            total += Math.Abs(probability - churned) / order.Length;
        }
        return total;
    }

    /// <summary>The 2.5% and 97.5% percentiles of <paramref name="estimator"/> over <paramref name="resamples"/>
    /// bootstrap resamples of the users (seeded: the same inputs give the same interval).</summary>
    public static (double Low, double High) BootstrapInterval(int[] labels, double[] probabilities,
        Func<int[], double[], double> estimator, int resamples = 1000, int seed = 0)
    {
        var random = new Random(seed);
        var values = new double[resamples];
        var sampleLabels = new int[labels.Length];
        var sampleProbabilities = new double[labels.Length];
        for (var r = 0; r < resamples; r++)
        {
            for (var i = 0; i < labels.Length; i++)
            {
                var pick = random.Next(labels.Length);
                sampleLabels[i] = labels[pick];
                sampleProbabilities[i] = probabilities[pick];
            }
            values[r] = estimator(sampleLabels, sampleProbabilities);
        }
        Array.Sort(values);
        return (values[(int)(0.025 * (resamples - 1))], values[(int)Math.Ceiling(0.975 * (resamples - 1))]);
    }

    /// <summary>The mean ECE of perfectly calibrated probabilities on this many users: labels drawn as
    /// Bernoulli(<paramref name="probabilities"/>) <paramref name="draws"/> times (seeded). An ECE at or below this
    /// is as calibrated as this split can show.</summary>
    public static double PerfectCalibrationFloor(double[] probabilities, Func<int[], double[], double> estimator,
        int draws = 1000, int seed = 0)
    {
        var random = new Random(seed);
        var labels = new int[probabilities.Length];
        double total = 0;
        for (var d = 0; d < draws; d++)
        {
            for (var i = 0; i < labels.Length; i++) labels[i] = random.NextDouble() < probabilities[i] ? 1 : 0;
            total += estimator(labels, probabilities);
        }
        return total / draws;
    }

    /// <summary>One line: equal-width ECE with its interval and floor, and the equal-mass ECE with its interval.</summary>
    public static string Summary(int[] labels, double[] probabilities)
    {
        Func<int[], double[], double> width = (l, p) => ChurnMetrics.ExpectedCalibrationError(l, p);
        Func<int[], double[], double> mass = (l, p) => EqualMass(l, p);
        var (widthLow, widthHigh) = BootstrapInterval(labels, probabilities, width);
        var (massLow, massHigh) = BootstrapInterval(labels, probabilities, mass);
        return FormattableString.Invariant(
            $"ece {width(labels, probabilities):0.000} (95% bootstrap {widthLow:0.000}-{widthHigh:0.000}; perfectly calibrated on {labels.Length} users: {PerfectCalibrationFloor(probabilities, width):0.000}), ") +
            FormattableString.Invariant(
            $"equal-mass ece {mass(labels, probabilities):0.000} ({massLow:0.000}-{massHigh:0.000}; floor {PerfectCalibrationFloor(probabilities, mass):0.000})");
    }
}
