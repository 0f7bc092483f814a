using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Checkpoints;

/// <summary><c>pipeline_params.churn_calibration_data</c>: which splits churn's calibration is fitted on.</summary>
public sealed class CalibrationDataTests
{
    private static NnConfig Config(string data, string method = "platt", string extra = "") =>
        SyntheticSequences.Config("rnn", PredictionTask.Churn, init: "\"hidden_size\": 8, \"use_time_gaps\": true, \"max_sequence_length\": 6",
            training: "\"num_epochs\": 2, \"learning_rate\": 0.01",
            pipeline: $"\"churn_calibration\": \"{method}\"" + (data.Length > 0 ? $", \"churn_calibration_data\": \"{data}\"" : "") + extra);

    /// <summary>Validation: probabilities that are right; recent: the same probabilities, but every user churns (a
    /// later day with a higher churn rate).</summary>
    private static (PredictionSet Validation, PredictionSet Recent) Shifted()
    {
        var random = new Random(3);
        var probabilities = Enumerable.Range(0, 400).Select(_ => (float)(0.1 + 0.8 * random.NextDouble())).ToArray();
        var labels = probabilities.Select(p => random.NextDouble() < p ? 1 : 0).ToArray();
        var validation = new PredictionSet(1, probabilities, labels);
        var recent = new PredictionSet(1, probabilities[..200], Enumerable.Repeat(1, 200).ToArray());
        return (validation, recent);
    }

    [Fact]
    public void The_default_fits_on_validation_and_val_recent_and_val_fits_on_validation_alone()
    {
        Assert.Equal(CalibrationData.ValidationAndRecent, Config("").Pipeline.ChurnCalibrationData);
        var (validation, recent) = Shifted();

        var both = ModelCheckpoint.FitChurnCalibration(Config(""), validation, recent);
        var alone = ModelCheckpoint.FitChurnCalibration(Config("val"), validation, recent);

        Assert.Equal(PlattScaling.Fit(validation.Labels.Concat(recent.Labels).ToArray(),
            validation.Probabilities.Concat(recent.Probabilities).Select(p => (double)p).ToArray()), both);
        Assert.Equal(PlattScaling.Fit(validation.Labels, validation.Probabilities.Select(p => (double)p).ToArray()), alone);
        // The recent users all churn: fitted with them, every probability is served higher.
        Assert.All(validation.Probabilities, p => Assert.True(both.Apply(p) > alone.Apply(p) + 0.01, $"{p}: {both.Apply(p)} vs {alone.Apply(p)}"));
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("isotonic")]
    public void Without_a_recent_split_both_settings_fit_the_same_calibration(string method)
    {
        var (validation, _) = Shifted();
        var alone = ModelCheckpoint.FitChurnCalibration(Config("val", method), validation, null);
        Assert.Equal(alone.ToJson().ToJsonString(), ModelCheckpoint.FitChurnCalibration(Config("val_and_recent", method), validation, null).ToJson().ToJsonString());
        Assert.Equal(alone.ToJson().ToJsonString(),
            ModelCheckpoint.FitChurnCalibration(Config("val_and_recent", method), validation, new PredictionSet(1, [], [])).ToJson().ToJsonString());
    }

    [Fact]
    public void An_unknown_setting_is_an_error_naming_the_key()
    {
        var error = Assert.Throws<InvalidInputException>(() => Config("test"));
        Assert.Contains("churn_calibration_data", error.Message);
    }

    /// <summary>A synthetic churn dataset with a val_recent split on which every user churns.</summary>
    private static PreparedDataset WithRecent()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 300, validation: 100, test: 60, maxLength: 6, seed: 4);
        var other = SyntheticSequences.Create(PredictionTask.Churn, train: 1, validation: 80, test: 1, maxLength: 6, seed: 9);
        return data with { ValidationRecent = other.Validation.Select(e => e with { Id = "recent-" + e.Id, Label = 1 }).ToArray() };
    }

    [Theory]
    [InlineData("")]
    [InlineData(", \"combine_with_trees\": \"blend\"")]
    public void The_served_checkpoint_and_the_test_evaluation_calibrate_on_the_configured_splits(string combine)
    {
        var data = WithRecent();
        var config = Config("", extra: combine);
        var result = Trainer.Train(data, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 3));
        using var model = result.Model;
        Assert.Equal(data.ValidationRecent.Count, result.RecentValidationPredictions!.Count);

        var served = ModelCheckpoint.ForServing(result, data);
        var validation = result.ValidationPredictions;
        var recent = result.RecentValidationPredictions;
        if (served.TreesBlend is { } blend)
            (validation, recent) = (blend.Combine(validation, data.Validation), blend.Combine(recent, data.ValidationRecent));
        Assert.Equal(PlattScaling.Fit(validation.Labels.Concat(recent.Labels).ToArray(),
            validation.Probabilities.Concat(recent.Probabilities).Select(p => (double)p).ToArray()), served.ChurnCalibration);
        var validationOnly = ModelCheckpoint.ForServing(result with { Config = Config("val", extra: combine) }, data);
        Assert.NotEqual(validationOnly.ChurnCalibration, served.ChurnCalibration);

        // The sequence model alone beside a blend is calibrated as its own checkpoint would be: on both splits too.
        var evaluated = TestEvaluator.Evaluate(data, served);
        if (served.TreesBlend is null)
        {
            Assert.Null(evaluated.SequenceModel);
            return;
        }
        var alone = ModelCheckpoint.FromTraining(result, data.Vocabulary);
        Assert.Equal(ModelCheckpoint.FitChurnCalibration(config, result.ValidationPredictions, result.RecentValidationPredictions), alone.ChurnCalibration);
        var test = alone.CalibratedChurn(Trainer.Predict(result.Model, data.Test, config.Init.MaxSequenceLength, config.Training.BatchSize));
        Assert.Equal(ChurnMetrics.ExpectedCalibrationError(test.Labels, test.Probabilities.Select(p => (double)p).ToArray()),
            evaluated.SequenceModel!.Scalars[MetricNames.ExpectedCalibrationError], 5);
    }
}
