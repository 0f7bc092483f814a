using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Evaluation;

public class MetricNamesTests
{
    [Theory]
    [InlineData("accuracy", PredictionTask.Events)]
    [InlineData("f1", PredictionTask.Events)]
    [InlineData("mrr", PredictionTask.Events)]
    [InlineData("accuracy", PredictionTask.Churn)]
    [InlineData("f1", PredictionTask.Churn)]
    [InlineData("log_loss", PredictionTask.Churn)]
    public void Known_names_are_accepted(string name, PredictionTask task) =>
        Assert.Equal(name, MetricNames.Validate(name, task));

    [Fact]
    public void A_metric_of_the_other_task_is_rejected_with_the_allowed_list()
    {
        var error = Assert.Throws<InvalidInputException>(() => MetricNames.Validate("roc_auc", PredictionTask.Events));

        Assert.Contains("'roc_auc' is not a metric of the events task", error.Message);
        Assert.Contains("top1_accuracy, top3_accuracy, mrr", error.Message);
    }

    [Theory]
    [InlineData("F1")]
    [InlineData("auc")]
    [InlineData(null)]
    public void Unknown_names_are_rejected(string? name) =>
        Assert.Throws<InvalidInputException>(() => MetricNames.Validate(name, PredictionTask.Churn));

    [Theory]
    [InlineData("log_loss", false)]
    [InlineData("brier", false)]
    [InlineData("roc_auc", true)]
    [InlineData("top3_accuracy", true)]
    public void Losses_are_lower_is_better(string name, bool higherIsBetter) =>
        Assert.Equal(higherIsBetter, MetricNames.HigherIsBetter(name));

    [Fact]
    public void Is_better_follows_the_direction_and_ranks_nan_last()
    {
        Assert.True(MetricNames.IsBetter("f1", 0.6, 0.5));
        Assert.False(MetricNames.IsBetter("log_loss", 0.6, 0.5));
        Assert.True(MetricNames.IsBetter("log_loss", 0.4, 0.5));
        Assert.False(MetricNames.IsBetter("roc_auc", double.NaN, 0.1));
        Assert.True(MetricNames.IsBetter("roc_auc", 0.1, double.NaN));
    }
}

public class EvaluationComparisonTests
{
    [Fact]
    public void Reports_sit_side_by_side_with_nan_as_not_available()
    {
        var model = ChurnMetrics.Compute([1, 0], [0.8, 0.3], 0.5);
        var oneClass = ChurnMetrics.Compute([1, 1], [0.8, 0.3], 0.5);

        var lines = EvaluationComparison.ToText(new Dictionary<string, IEvaluationReport>
        {
            ["model"] = model,
            ["majority_class"] = oneClass,
        }).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(3, lines.Length);
        Assert.StartsWith("                accuracy  precision", lines[0]);
        Assert.StartsWith("model             1.0000", lines[1]);
        // Only churned users: ROC-AUC is undefined.
        Assert.Contains("n/a", lines[2]);
        Assert.StartsWith("majority_class", lines[2]);
    }

    [Fact]
    public void Reports_of_different_tasks_are_rejected()
    {
        var churn = ChurnMetrics.Compute([1, 0], [0.8, 0.3], 0.5);
        var events = NextEventMetrics.Compute([0], [1f, 0f], ["a", "b"]);

        Assert.Throws<ArgumentException>(() => EvaluationComparison.ToText(
            new Dictionary<string, IEvaluationReport> { ["a"] = churn, ["b"] = events }));
    }

    [Fact]
    public void Finite_leaves_out_undefined_metrics_only()
    {
        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = 0.8, ["roc_auc"] = double.NaN, ["log_loss"] = double.PositiveInfinity, ["brier"] = 0,
        };

        Assert.Equal(new Dictionary<string, double> { ["accuracy"] = 0.8, ["brier"] = 0 }, MetricNames.Finite(metrics));
    }
}
