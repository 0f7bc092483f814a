using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Evaluation;

public class ChurnMetricsTests
{
    // Five users (1 = churned) and their churn probabilities; threshold 0.5 predicts 1, 1, 1, 0, 0.
    private static readonly int[] Labels = [1, 0, 1, 0, 1];
    private static readonly double[] Probabilities = [0.9, 0.6, 0.6, 0.2, 0.4];

    [Fact]
    public void Threshold_metrics_match_hand_computed_values()
    {
        var report = ChurnMetrics.Compute(Labels, Probabilities, threshold: 0.5);

        // TP = users 0, 2; FP = user 1; TN = user 3; FN = user 4.
        Assert.Equal((2, 1, 1, 1), (report.TruePositives, report.FalsePositives, report.TrueNegatives, report.FalseNegatives));
        Assert.Equal(0.6, report.Scalars["accuracy"], 10);        // 3 of 5
        Assert.Equal(2.0 / 3, report.Scalars["precision"], 10);   // 2 / (2 + 1)
        Assert.Equal(2.0 / 3, report.Scalars["recall"], 10);      // 2 / (2 + 1)
        Assert.Equal(2.0 / 3, report.Scalars["f1"], 10);
        Assert.Equal(MetricNames.For(PredictionTask.Churn), report.Scalars.Keys);
    }

    [Fact]
    public void Roc_auc_counts_tied_pairs_as_one_half()
    {
        // Churned (.9 .6 .4) × returned (.6 .2): pairs won 1, 1, ½ (the .6 tie), 1, 0, 1 → 4.5 / 6.
        Assert.Equal(0.75, ChurnMetrics.Compute(Labels, Probabilities, 0.5).Scalars["roc_auc"], 10);
    }

    [Fact]
    public void Pr_auc_is_average_precision_over_distinct_thresholds()
    {
        // High to low: .9 → R 1/3, P 1; the tied .6s → R 2/3, P 2/3; .4 → R 1, P 3/4; .2 → recall unchanged.
        // AP = 1/3·1 + 1/3·2/3 + 1/3·3/4 = 29/36.
        Assert.Equal(29.0 / 36, ChurnMetrics.Compute(Labels, Probabilities, 0.5).Scalars["pr_auc"], 10);
    }

    [Fact]
    public void Log_loss_and_brier_match_hand_computed_values()
    {
        var scalars = ChurnMetrics.Compute(Labels, Probabilities, 0.5).Scalars;

        // −(ln .9 + ln .4 + ln .6 + ln .8 + ln .4) / 5
        Assert.Equal(0.5343822309, scalars["log_loss"], 9);
        // (.1² + .6² + .4² + .2² + .6²) / 5 = .93 / 5
        Assert.Equal(0.186, scalars["brier"], 10);
    }

    [Fact]
    public void Log_loss_clips_certain_mistakes()
    {
        // A churned user given probability 0 costs −ln(1e-15), not infinity.
        var report = ChurnMetrics.Compute([1, 0], [0.0, 0.0], 0.5);

        Assert.Equal(34.538776394910684 / 2, report.Scalars["log_loss"], 9);
    }

    [Fact]
    public void A_probability_equal_to_the_threshold_predicts_churn()
    {
        var report = ChurnMetrics.Compute([1, 0], [0.3, 0.29], threshold: 0.3);

        Assert.Equal(1.0, report.Scalars["accuracy"]);
    }

    [Fact]
    public void Ranking_metrics_are_nan_when_a_class_is_missing()
    {
        var allReturned = ChurnMetrics.Compute([0, 0], [0.2, 0.7], 0.5);

        Assert.True(double.IsNaN(allReturned.Scalars["roc_auc"]));
        Assert.True(double.IsNaN(allReturned.Scalars["pr_auc"]));
        Assert.Equal(0.0, allReturned.Scalars["recall"]);   // no churned user: 0 by convention
        Assert.Empty(ChurnMetrics.RocCurve([0, 0], [0.2, 0.7]));
    }

    [Fact]
    public void Roc_curve_steps_through_distinct_probabilities()
    {
        var curve = ChurnMetrics.RocCurve(Labels, Probabilities);

        // 3 churned, 2 returned: ∞ → (0, 0); .9 → (0, 1/3); .6 → (1/2, 2/3); .4 → (1/2, 1); .2 → (1, 1).
        Assert.Equal([0, 0, 0.5, 0.5, 1], curve.Select(p => p.FalsePositiveRate));
        Assert.Equal([0, 1.0 / 3, 2.0 / 3, 1, 1], curve.Select(p => p.TruePositiveRate));
        Assert.Equal([0.9, 0.6, 0.4, 0.2], curve.Skip(1).Select(p => p.Threshold));
    }

    [Fact]
    public void Bad_input_names_the_problem()
    {
        Assert.Contains("label 2 of example 0",
            Assert.Throws<ArgumentException>(() => ChurnMetrics.Compute([2], [0.5], 0.5)).Message);
        Assert.Contains("Probability 1.5 of example 0",
            Assert.Throws<ArgumentException>(() => ChurnMetrics.Compute([1], [1.5], 0.5)).Message);
        Assert.Contains("1 probabilities for 2 labels",
            Assert.Throws<ArgumentException>(() => ChurnMetrics.Compute([1, 0], [0.5], 0.5)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChurnMetrics.Compute([1], [0.5], 1.2));
    }
}
