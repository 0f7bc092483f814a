using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Experiments;

public class PredictionScoringTests
{
    [Fact]
    public void Next_event_metrics_come_from_core_with_hand_computed_values()
    {
        // 3 classes; true labels 1, 2, 2. Example 0: label ranked 1st; example 1: 2nd; example 2: 3rd.
        var predictions = new PredictionSet(3, [0.1f, 0.8f, 0.1f, 0.2f, 0.5f, 0.3f, 0.6f, 0.3f, 0.1f], [1, 2, 2]);

        Assert.Equal(1.0 / 3, PredictionScoring.ValidationMetricFor("top1_accuracy", PredictionTask.Events, 0.5).Score(predictions), 12);
        Assert.Equal((1 + 0.5 + 1.0 / 3) / 3, PredictionScoring.ValidationMetricFor("mrr", PredictionTask.Events, 0.5).Score(predictions), 12);
        Assert.Equal(2.0 / 3, PredictionScoring.ValidationMetricFor("top3_accuracy", PredictionTask.Events, 0.5).Score(predictions) - 1.0 / 3, 12);
    }

    [Fact]
    public void Churn_metrics_use_the_threshold_and_losses_are_lower_is_better()
    {
        // Churned users score 0.9 and 0.4, returned ones 0.6 and 0.1: 3 of 4 pairs ordered right → ROC-AUC 0.75.
        var predictions = new PredictionSet(1, [0.9f, 0.4f, 0.6f, 0.1f], [1, 1, 0, 0]);

        Assert.Equal(0.75, PredictionScoring.ValidationMetricFor("roc_auc", PredictionTask.Churn, 0.5).Score(predictions), 6);
        Assert.Equal(0.5, PredictionScoring.ValidationMetricFor("accuracy", PredictionTask.Churn, 0.5).Score(predictions), 6);
        Assert.Equal(0.75, PredictionScoring.ValidationMetricFor("accuracy", PredictionTask.Churn, 0.35).Score(predictions), 6);
        var logLoss = PredictionScoring.ValidationMetricFor("log_loss", PredictionTask.Churn, 0.5);
        Assert.False(logLoss.HigherIsBetter);
        Assert.True(logLoss.IsBetter(0.2, 0.3));
    }

    [Theory]
    [InlineData("roc_auc", PredictionTask.Events)]
    [InlineData("top1_accuracy", PredictionTask.Churn)]
    [InlineData("loss", PredictionTask.Churn)]
    public void A_metric_the_task_does_not_report_is_an_error_listing_the_allowed_names(string name, PredictionTask task)
    {
        var error = Assert.Throws<InvalidInputException>(() => PredictionScoring.ValidationMetricFor(name, task, 0.5));
        Assert.Contains(name, error.Message);
        Assert.Contains("allowed", error.Message);
    }

    [Fact]
    public void The_config_checks_grid_search_metric_against_its_task()
    {
        var error = Assert.Throws<InvalidInputException>(() => NnConfig.Parse(
            """{"model_type":"rnn","model_training_params":{"task":"events"},"pipeline_params":{"grid_search_metric":"roc_auc"}}"""));
        Assert.Contains("pipeline_params.grid_search_metric", error.Message);
        Assert.Contains("top1_accuracy", error.Message);

        var churn = NnConfig.Parse("""{"model_type":"rnn","model_training_params":{"task":"churn"},"pipeline_params":{"grid_search_metric":"roc_auc"}}""");
        Assert.Equal("roc_auc", PredictionScoring.ValidationMetricFor(churn).Name);
    }

    [Fact]
    public void Overrides_keep_the_grid_and_replace_a_searched_setting()
    {
        var config = NnConfig.Parse("""
            {"model_type":"rnn","model_training_params":{"task":"events"},
             "grid_search_params":{"learning_rate":[0.1,0.2],"use_time_gaps":[true,false]}}
            """);

        var overridden = config.WithOverrides(new Dictionary<string, System.Text.Json.Nodes.JsonNode> { ["task"] = "churn", ["use_time_gaps"] = false });

        Assert.Equal(PredictionTask.Churn, overridden.Training.Task);
        Assert.False(overridden.Init.UseTimeGaps);
        Assert.Equal(["learning_rate"], overridden.Grid.Keys);
        Assert.Equal(2, ModelGrid.Expand(overridden).Count);
        Assert.Throws<InvalidInputException>(() => config.WithOverrides(new Dictionary<string, System.Text.Json.Nodes.JsonNode> { ["hiden_size"] = 3 }));
    }
}
