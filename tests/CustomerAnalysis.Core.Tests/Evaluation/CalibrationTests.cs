using CustomerAnalysis.Core.Evaluation;

namespace CustomerAnalysis.Core.Tests.Evaluation;

public class CalibrationTests
{
    [Fact]
    public void Expected_calibration_error_matches_a_hand_computed_value()
    {
        // Bin [0.1, 0.2): 0.1, 0.1 with labels 0, 1 → mean 0.1, rate 0.5, |0.4| · 2/4.
        // Bin [0.9, 1]: 0.9, 1.0 with labels 1, 1 → mean 0.95, rate 1, |0.05| · 2/4.
        int[] labels = [0, 1, 1, 1];
        double[] probabilities = [0.1, 0.1, 0.9, 1.0];

        Assert.Equal(0.5 * 0.4 + 0.5 * 0.05, ChurnMetrics.ExpectedCalibrationError(labels, probabilities), 12);
        Assert.Equal(0.5 * 0.4 + 0.5 * 0.05, ChurnMetrics.Compute(labels, probabilities, 0.5).Scalars[MetricNames.ExpectedCalibrationError], 12);
        var bins = ChurnMetrics.Reliability(labels, probabilities);
        Assert.Equal([(0.1, 0.5, 2), (0.95, 1.0, 2)], bins.Select(b => (Math.Round(b.MeanProbability, 12), b.ChurnRate, b.Count)));
        Assert.Equal(0.9, bins[1].Low, 12);
        Assert.False(MetricNames.HigherIsBetter(MetricNames.ExpectedCalibrationError));
    }

    [Fact]
    public void Platt_scaling_fixes_overconfident_probabilities_without_changing_their_order()
    {
        // True churn probability q; the "model" reports σ(3 · logit(q) + 1): overconfident and biased up.
        var random = new Random(4);
        (int[] Labels, double[] Reported) Draw(int count)
        {
            var labels = new int[count];
            var reported = new double[count];
            for (var i = 0; i < count; i++)
            {
                var q = 0.05 + 0.9 * random.NextDouble();
                labels[i] = random.NextDouble() < q ? 1 : 0;
                reported[i] = 1 / (1 + Math.Exp(-(3 * Math.Log(q / (1 - q)) + 1)));
            }
            return (labels, reported);
        }
        var validation = Draw(20000);
        var test = Draw(20000);

        var scaling = PlattScaling.Fit(validation.Labels, validation.Reported);
        var calibrated = scaling.Apply(test.Reported);

        var before = ChurnMetrics.ExpectedCalibrationError(test.Labels, test.Reported);
        var after = ChurnMetrics.ExpectedCalibrationError(test.Labels, calibrated);
        Assert.True(before > 0.08 && after < 0.02, $"ECE before {before:0.000}, after {after:0.000}, slope {scaling.Slope}, intercept {scaling.Intercept}");
        // About the inverse of the distortion (slope 1/3, intercept −1/3), up to sampling noise.
        Assert.InRange(scaling.Slope, 0.25, 0.42);
        Assert.InRange(scaling.Intercept, -0.5, -0.17);
        Assert.Equal(ChurnMetrics.RocAuc(test.Labels, test.Reported), ChurnMetrics.RocAuc(test.Labels, calibrated), 12);
        Assert.Equal(scaling, PlattScaling.Fit(validation.Labels, validation.Reported));
    }

    [Fact]
    public void One_class_leaves_the_probabilities_as_they_are()
    {
        var scaling = PlattScaling.Fit([1, 1, 1], [0.2, 0.7, 0.9]);
        Assert.True(scaling.IsIdentity);
        Assert.Equal(0.7, scaling.Apply(0.7), 12);
    }
}
