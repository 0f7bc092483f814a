using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Training;

/// <summary>Training on a dataset with a val_recent split: both validation splits are scored, and
/// <c>validation_selection</c> decides which ranks the epochs.</summary>
public class RecentValidationTests
{
    private static readonly TrainingRun OneThread = new(Threads: 1, Seed: 5);

    /// <summary>The recent split follows another rule (event_k → event_k+2), so the two validation scores differ.</summary>
    private static PreparedDataset WithRecent()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 200, validation: 60, test: 10);
        var other = SyntheticSequences.Create(PredictionTask.Events, train: 1, validation: 60, test: 1, seed: 7);
        return data with
        {
            ValidationRecent = other.Validation.Select(e => e with
            {
                Id = "recent-" + e.Id,
                Label = 2 + (e.Label - 2 + 1) % SyntheticSequences.EventKinds,
            }).ToArray(),
        };
    }

    private static NnConfig Config(string selection) => SyntheticSequences.Config("rnn", PredictionTask.Events,
        init: "\"hidden_size\": 8, \"dropout_rate\": 0",
        training: "\"num_epochs\": 4, \"learning_rate\": 0.02",
        pipeline: $"\"early_stopping_patience\": 0, \"validation_selection\": \"{selection}\"");

    [Theory]
    [InlineData("recent")]
    [InlineData("mean")]
    public void Epochs_are_ranked_on_the_selection_score_of_both_splits(string selection)
    {
        var data = WithRecent();

        var result = Trainer.Train(data, Config(selection), SyntheticSequences.AccuracyMetric, OneThread);
        try
        {
            Assert.All(result.History, e => Assert.False(double.IsNaN(e.RecentValidationMetric)));
            Assert.All(result.History, e => Assert.Equal(
                ValidationSelections.Parse(selection).Score(e.ValidationMetric, e.RecentValidationMetric), e.SelectionScore, 12));
            Assert.Contains(result.History, e => e.ValidationMetric != e.RecentValidationMetric);
            var best = result.History.MaxBy(e => e.SelectionScore)!;
            Assert.Equal(best.Epoch, result.BestEpoch);
            Assert.Equal(best.SelectionScore, result.BestValidationMetric, 12);
            // The kept model's predictions on both splits score what its epoch scored.
            Assert.Equal(best.RecentValidationMetric, SyntheticSequences.Accuracy(result.RecentValidationPredictions!), 6);
            Assert.Equal(best.ValidationMetric, SyntheticSequences.Accuracy(result.ValidationPredictions), 6);
        }
        finally
        {
            result.Model.Dispose();
        }
    }

    [Fact]
    public void Selection_by_users_ignores_the_recent_split_but_still_reports_it()
    {
        var data = WithRecent();

        var result = Trainer.Train(data, Config("users"), SyntheticSequences.AccuracyMetric, OneThread);
        try
        {
            Assert.All(result.History, e => Assert.True(double.IsNaN(e.RecentValidationMetric)));
            Assert.All(result.History, e => Assert.Equal(e.ValidationMetric, e.SelectionScore));
            Assert.Equal(result.History.MaxBy(e => e.ValidationMetric)!.Epoch, result.BestEpoch);
            Assert.Equal(data.ValidationRecent.Count, result.RecentValidationPredictions!.Count);

            var summary = TrialSummary.From(result, 1.0, data, 0.5);
            Assert.True(summary.RecentValidation.ContainsKey(MetricNames.Top1Accuracy));
            Assert.Equal(SyntheticSequences.Accuracy(result.RecentValidationPredictions), summary.RecentValidation[MetricNames.Top1Accuracy], 6);
            var flat = summary.FlatValidation();
            Assert.Equal(summary.Validation[MetricNames.Top1Accuracy], flat[MetricNames.Top1Accuracy]);
            Assert.Equal(summary.RecentValidation[MetricNames.Top1Accuracy], flat["recent_" + MetricNames.Top1Accuracy]);
            Assert.Equal(result.BestValidationMetric, flat["selection_score"]);
        }
        finally
        {
            result.Model.Dispose();
        }
    }

    [Fact]
    public void Without_a_recent_split_the_selection_score_is_the_validation_metric()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 200, validation: 60, test: 10);

        var result = Trainer.Train(data, Config("mean"), SyntheticSequences.AccuracyMetric, OneThread);
        try
        {
            Assert.Null(result.RecentValidationPredictions);
            Assert.All(result.History, e => Assert.Equal(e.ValidationMetric, e.SelectionScore));
            Assert.Empty(TrialSummary.From(result, 1.0, data, 0.5).RecentValidation);
        }
        finally
        {
            result.Model.Dispose();
        }
    }
}
