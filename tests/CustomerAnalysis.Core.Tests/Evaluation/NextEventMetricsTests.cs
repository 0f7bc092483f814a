using CustomerAnalysis.Core.Evaluation;

namespace CustomerAnalysis.Core.Tests.Evaluation;

public class NextEventMetricsTests
{
    private static readonly string[] Abc = ["a", "b", "c"];

    // Four examples over classes a, b, c:
    //   label a, scores (.7 .2 .1) → predicted a, rank 1
    //   label b, scores (.5 .3 .2) → predicted a, rank 2
    //   label c, scores (.6 .3 .1) → predicted a, rank 3
    //   label b, scores (.1 .8 .1) → predicted b, rank 1
    private static readonly int[] Labels = [0, 1, 2, 1];
    private static readonly float[][] Rows = [[.7f, .2f, .1f], [.5f, .3f, .2f], [.6f, .3f, .1f], [.1f, .8f, .1f]];

    [Fact]
    public void Ranking_metrics_match_hand_computed_values()
    {
        var report = NextEventMetrics.Compute(Labels, Rows, Abc);

        Assert.Equal(4, report.Count);
        Assert.Equal(0.5, report.Scalars["top1_accuracy"], 10);       // ranks 1 and 1 of 4
        Assert.Equal(1.0, report.Scalars["top3_accuracy"], 10);       // every rank ≤ 3
        Assert.Equal(17.0 / 24, report.Scalars["mrr"], 10);           // (1 + 1/2 + 1/3 + 1) / 4
        Assert.Equal([0, 0, 0, 1], report.PredictedClasses);
    }

    [Fact]
    public void Per_class_and_macro_metrics_match_hand_computed_values()
    {
        var report = NextEventMetrics.Compute(Labels, Rows, Abc);

        // a: support 1, predicted 3, TP 1 → P 1/3, R 1, F1 0.5
        // b: support 2, predicted 1, TP 1 → P 1, R 1/2, F1 2/3
        // c: support 1, predicted 0, TP 0 → P 0 (nothing predicted), R 0, F1 0
        var a = report.PerClass[0];
        Assert.Equal(("a", 1, 3), (a.Name, a.Support, a.Predicted));
        Assert.Equal(1.0 / 3, a.Precision, 10);
        Assert.Equal(1.0, a.Recall, 10);
        Assert.Equal(0.5, a.F1, 10);
        var b = report.PerClass[1];
        Assert.Equal(("b", 2, 1), (b.Name, b.Support, b.Predicted));
        Assert.Equal(1.0, b.Precision, 10);
        Assert.Equal(0.5, b.Recall, 10);
        Assert.Equal(2.0 / 3, b.F1, 10);
        var c = report.PerClass[2];
        Assert.Equal((0.0, 0.0, 0.0), (c.Precision, c.Recall, c.F1));

        Assert.Equal(4.0 / 9, report.Scalars["macro_precision"], 10);  // (1/3 + 1 + 0) / 3
        Assert.Equal(0.5, report.Scalars["macro_recall"], 10);          // (1 + 1/2 + 0) / 3
        Assert.Equal(7.0 / 18, report.Scalars["macro_f1"], 10);         // (1/2 + 2/3 + 0) / 3
        Assert.Equal(0.5, report.Scalars["micro_precision"], 10);       // pooled: 2 right of 4
        Assert.Equal(0.5, report.Scalars["micro_recall"], 10);
        Assert.Equal(0.5, report.Scalars["micro_f1"], 10);
    }

    [Fact]
    public void Original_metric_names_alias_top1_and_macro()
    {
        var scalars = NextEventMetrics.Compute(Labels, Rows, Abc).Scalars;

        Assert.Equal(scalars["top1_accuracy"], scalars["accuracy"]);
        Assert.Equal(scalars["macro_precision"], scalars["precision"]);
        Assert.Equal(scalars["macro_recall"], scalars["recall"]);
        Assert.Equal(scalars["macro_f1"], scalars["f1"]);
        Assert.Equal(MetricNames.For(Core.Preparation.PredictionTask.Events), scalars.Keys);
    }

    [Fact]
    public void Confusion_matrix_rows_are_true_classes_and_columns_predictions()
    {
        var matrix = NextEventMetrics.Compute(Labels, Rows, Abc).ConfusionMatrix;

        Assert.Equal(["a", "b", "c"], matrix.ClassNames);
        Assert.Equal([1, 0, 0], matrix.Counts[0]);
        Assert.Equal([1, 1, 0], matrix.Counts[1]);
        Assert.Equal([1, 0, 0], matrix.Counts[2]);
    }

    [Fact]
    public void Macro_averages_leave_out_classes_absent_from_labels_and_predictions()
    {
        // Class d (id 3) is neither a label nor a prediction: a and b alone make the macro average.
        // a: P 1, R 1; b: P 1, R 1 → macro 1 (it would be 0.75 if d's zeros counted).
        var report = NextEventMetrics.Compute([0, 1], [.9f, .1f, 0, 0, .2f, .7f, .1f, 0], ["a", "b", "c", "d"]);

        Assert.Equal(["a", "b"], report.PerClass.Select(c => c.Name));
        Assert.Equal(1.0, report.Scalars["macro_f1"], 10);
        Assert.Equal(2, report.ConfusionMatrix.Counts.Length);
    }

    [Fact]
    public void Ties_go_to_the_lower_class_id_for_prediction_and_rank_alike()
    {
        // Both rows are (.4 .4 .2): predicted a; label a has rank 1, label b rank 2.
        var report = NextEventMetrics.Compute([0, 1], [.4f, .4f, .2f, .4f, .4f, .2f], Abc);

        Assert.Equal([0, 0], report.PredictedClasses);
        Assert.Equal(0.5, report.Scalars["top1_accuracy"], 10);
        Assert.Equal(0.75, report.Scalars["mrr"], 10);   // (1 + 1/2) / 2
    }

    [Fact]
    public void Top3_misses_a_true_class_ranked_fourth()
    {
        // Label e scores lowest of five: rank 5, outside the top 3; MRR 1/5.
        var report = NextEventMetrics.Compute([4], [.5f, .2f, .15f, .1f, .05f], ["a", "b", "c", "d", "e"]);

        Assert.Equal(0.0, report.Scalars["top3_accuracy"], 10);
        Assert.Equal(0.2, report.Scalars["mrr"], 10);
    }

    [Fact]
    public void Logits_give_the_same_report_as_probabilities()
    {
        var logits = Rows.Select(row => row.Select(p => MathF.Log(p) + 3).ToArray()).ToArray();

        Assert.Equal(NextEventMetrics.Compute(Labels, Rows, Abc).Scalars,
            NextEventMetrics.Compute(Labels, logits, Abc).Scalars);
    }

    [Fact]
    public void Bad_input_names_the_problem()
    {
        var wrongLength = Assert.Throws<ArgumentException>(() => NextEventMetrics.Compute([0], [.5f, .5f], Abc));
        Assert.Contains("2 scores for 1 examples × 3 classes", wrongLength.Message);

        var badLabel = Assert.Throws<ArgumentException>(() => NextEventMetrics.Compute([3], [.5f, .3f, .2f], Abc));
        Assert.Contains("Label 3 of example 0", badLabel.Message);

        var nan = Assert.Throws<ArgumentException>(() => NextEventMetrics.Compute([0], [.5f, float.NaN, .2f], Abc));
        Assert.Contains("NaN", nan.Message);

        Assert.Throws<ArgumentException>(() => NextEventMetrics.Compute([], Array.Empty<float>(), Abc));
    }
}
