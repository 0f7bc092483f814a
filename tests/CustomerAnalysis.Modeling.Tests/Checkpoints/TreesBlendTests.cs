using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Tests.Prediction;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Checkpoints;

/// <summary><c>combine_with_trees</c>: real TorchSharp training and real LightGBM trees on small synthetic data.</summary>
public sealed class TreesBlendTests
{
    private static (PreparedDataset Data, TrainingResult Result) Train(PredictionTask task, string pipeline, int epochs = 2)
    {
        var data = SyntheticSequences.Create(task, train: 300, validation: 100, test: 40, seed: 4);
        var config = SyntheticSequences.Config("rnn", task, init: "\"hidden_size\": 8, \"use_time_gaps\": true, \"max_sequence_length\": 6",
            training: $"\"num_epochs\": {epochs}, \"learning_rate\": 0.01", pipeline: pipeline);
        return (data, Trainer.Train(data, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 3)));
    }

    private static ModelCheckpoint RoundTrip(ModelCheckpoint checkpoint)
    {
        using var stream = new MemoryStream();
        checkpoint.Write(stream);
        stream.Position = 0;
        return ModelCheckpoint.Read(stream);
    }


    [Fact]
    public void Off_by_default_the_served_checkpoint_is_the_sequence_model_alone()
    {
        var (data, result) = Train(PredictionTask.Churn, pipeline: "");
        using var model = result.Model;
        Assert.Equal(TreesCombination.None, result.Config.Pipeline.CombineWithTrees);

        var served = ModelCheckpoint.ForServing(result, data);
        var plain = ModelCheckpoint.FromTraining(result, data.Vocabulary);
        Assert.Null(served.TreesBlend);
        Assert.Same(plain.Model, served.Model);
        Assert.Equal(plain.ChurnCalibration, served.ChurnCalibration);
        var evaluated = TestEvaluator.Evaluate(data, served);
        Assert.Null(evaluated.SequenceModel);
        Assert.DoesNotContain(TestEvaluation.SequenceModelName, evaluated.ToText());

        using var stream = new MemoryStream();
        served.Write(stream);
        Assert.DoesNotContain("trees_blend", System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Theory]
    [InlineData(PredictionTask.Churn)]
    [InlineData(PredictionTask.Events)]
    public void A_blended_checkpoint_serves_exactly_what_it_was_evaluated_with_after_a_round_trip(PredictionTask task)
    {
        var (data, result) = Train(task, pipeline: "\"combine_with_trees\": \"blend\"");
        using var model = result.Model;
        var checkpoint = ModelCheckpoint.ForServing(result, data);
        var blend = Assert.IsType<TreesBlend>(checkpoint.TreesBlend);
        Assert.InRange(blend.ModelWeight, 0, 1);

        var evaluation = TestEvaluator.Evaluate(data, checkpoint);
        Assert.NotNull(evaluation.SequenceModel);
        Assert.Contains(TestEvaluation.SequenceModelName, evaluation.ToText());

        var read = RoundTrip(checkpoint);
        using var readModel = read.Model;
        Assert.Equal(blend.ModelWeight, read.TreesBlend!.ModelWeight);
        Assert.Equal(checkpoint.ChurnCalibration, read.ChurnCalibration);
        // The read trees score as the fitted ones.
        Assert.Equal(blend.TreeScores(data.Test), read.TreesBlend.TreeScores(data.Test));

        using var predictor = new Predictor(read);
        ServedAnswers.AssertServedAsEvaluated(predictor, data, evaluation, task);
    }

    [Theory]
    [InlineData(PredictionTask.Churn)]
    [InlineData(PredictionTask.Events)]
    public void The_weight_chosen_on_validation_is_at_least_as_good_there_as_either_side_alone(PredictionTask task)
    {
        // One epoch: a weak sequence model beside trees that learn the rule, so the weight has something to choose.
        var (data, result) = Train(task, pipeline: "\"combine_with_trees\": \"blend\"", epochs: 1);
        using var model = result.Model;
        var metric = PredictionScoring.ValidationMetricFor(result.Config);
        var blend = TreesBlend.Fit(result, data, metric);

        var blended = metric.Score(blend.Combine(result.ValidationPredictions, data.Validation));
        var treesAlone = metric.Score(result.ValidationPredictions with { Probabilities = blend.TreeScores(data.Validation) });
        Assert.True(blended >= metric.Score(result.ValidationPredictions), $"blend {blended} vs model {result.BestValidationMetric}");
        Assert.True(blended >= treesAlone - 1e-9, $"blend {blended} vs trees {treesAlone}");
        // Same data, same seeds: the same weight.
        Assert.Equal(blend.ModelWeight, TreesBlend.Fit(result, data, metric).ModelWeight);
    }

    [Fact]
    public void Trees_fitted_before_on_the_same_data_blend_as_a_fresh_fit_and_trees_of_other_data_or_options_are_refused()
    {
        var (data, result) = Train(PredictionTask.Churn, pipeline: "\"combine_with_trees\": \"blend\"", epochs: 1);
        using var model = result.Model;
        var metric = PredictionScoring.ValidationMetricFor(result.Config);
        var options = TreesBlend.OptionsFor(result.Config, data.Signals);
        var trees = BlendTrees.Fit(data, options);

        var fresh = TreesBlend.Fit(result, data, metric);
        var shared = TreesBlend.Fit(result, data, metric, trees);
        Assert.Equal(fresh.ModelWeight, shared.ModelWeight);
        Assert.Equal(fresh.TreeScores(data.Test), shared.TreeScores(data.Test));
        var served = ModelCheckpoint.ForServing(result, data, trees: o => o == options ? trees : throw new InvalidOperationException($"asked for {o}"));
        Assert.Equal(fresh.TreeScores(data.Test), served.TreesBlend!.TreeScores(data.Test));

        // Trees of another dataset instance (even with equal content) or other options are not this model's.
        var copy = data with { };
        Assert.Throws<ArgumentException>(() => TreesBlend.Fit(result, data, metric, BlendTrees.Fit(copy, options)));
        Assert.Throws<ArgumentException>(() => TreesBlend.Fit(result, data, metric, BlendTrees.Fit(data, options with { UseTimeGaps = false })));
    }

    [Theory]
    [InlineData(PredictionTask.Churn)]
    [InlineData(PredictionTask.Events)]
    public void The_trees_score_a_served_request_row_by_row_exactly_as_a_large_set(PredictionTask task)
    {
        var (data, result) = Train(task, pipeline: "\"combine_with_trees\": \"blend\"", epochs: 1);
        using var model = result.Model;
        var blend = TreesBlend.Fit(result, data, PredictionScoring.ValidationMetricFor(result.Config));
        // 100 validation examples: past the row-by-row limit, scored through the data view; then in small requests.
        Assert.True(data.Validation.Count > CustomerAnalysis.Modeling.Baselines.GradientBoostedTreesBaseline.RowByRowLimit);
        var all = blend.TreeScores(data.Validation);
        var classes = all.Length / data.Validation.Count;
        for (var start = 0; start < data.Validation.Count; start += 7)
        {
            var part = data.Validation.Skip(start).Take(start % 2 == 0 ? 1 : 7).ToArray();
            Assert.Equal(all.AsSpan(start * classes, part.Length * classes).ToArray(), blend.TreeScores(part));
        }
    }

    [Fact]
    public void An_unknown_combination_is_an_error_naming_the_key()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            SyntheticSequences.Config("rnn", PredictionTask.Churn, pipeline: "\"combine_with_trees\": \"stack\""));
        Assert.Contains("combine_with_trees", error.Message);
    }

    [Fact]
    public void Blending_without_a_validation_split_is_an_error_naming_the_key()
    {
        var (data, result) = Train(PredictionTask.Churn, pipeline: "\"combine_with_trees\": \"blend\"");
        using var model = result.Model;
        var noValidation = data with { Validation = [] };
        var error = Assert.Throws<InvalidInputException>(() => ModelCheckpoint.ForServing(result with
        {
            ValidationPredictions = result.ValidationPredictions with { Probabilities = [], Labels = [] },
        }, noValidation));
        Assert.Contains("combine_with_trees", error.Message);
    }
}
