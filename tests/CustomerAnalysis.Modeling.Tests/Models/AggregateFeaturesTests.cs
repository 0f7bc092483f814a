using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Data;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Models;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Tests.Prediction;
using CustomerAnalysis.Modeling.Training;
using TorchSharp;

namespace CustomerAnalysis.Modeling.Tests.Models;

/// <summary><c>aggregate_features: "trees"</c> (wide and deep): real TorchSharp models and training on small synthetic data.</summary>
public sealed class AggregateFeaturesTests
{
    private const string Wide = "\"aggregate_features\": \"trees\"";

    private static (PreparedDataset Data, TrainingResult Result) Train(string modelType, PredictionTask task, string init, string pipeline = "")
    {
        var data = SyntheticSequences.Create(task, train: 300, validation: 100, test: 40, seed: 4);
        var config = SyntheticSequences.Config(modelType, task, init: "\"use_time_gaps\": true, \"max_sequence_length\": 6, " + init,
            training: "\"num_epochs\": 2, \"learning_rate\": 0.01", pipeline: pipeline);
        return (data, Trainer.Train(data, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 3)));
    }

    [Theory]
    [InlineData("rnn", PredictionTask.Churn)]
    [InlineData("rnn", PredictionTask.Events)]
    [InlineData("transformer", PredictionTask.Churn)]
    [InlineData("transformer", PredictionTask.Events)]
    public void The_head_reads_the_aggregates_so_changing_only_them_changes_the_prediction(string modelType, PredictionTask task)
    {
        var config = SyntheticSequences.Config(modelType, task, init: Wide + ", \"use_time_gaps\": true");
        using var model = ModelFactory.Create(config, task, SyntheticSequences.Vocabulary.Count, seed: 5, torch.CPU);
        model.eval();
        var wide = Assert.IsType<AggregateScaler>(model.Aggregates);
        // The trees' columns, exactly: their width and their row for an example.
        var v = SyntheticSequences.Vocabulary.Count;
        Assert.Equal(CustomerAnalysis.Modeling.Baselines.TreeFeatures.Width(task, v, useTimeGaps: true, signals: null), wide.Width);
        if (task == PredictionTask.Events) Assert.Equal(5 * v + v - 1 + 1 + 6, wide.Width);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var batch = SequenceBatch.Create([new[] { 2, 5, 9, 3 }], [new[] { 0f, 3, 60, 1 }], 50, torch.CPU);
        var examples = ServingExamples.FromInputs([new[] { 2, 5, 9, 3 }], [new[] { 0f, 3, 60, 1 }]);
        var rows = wide.Rows(examples);
        Assert.Equal(CustomerAnalysis.Modeling.Baselines.TreeFeatures.Row(examples[0], task, v, useTimeGaps: true, signals: null), rows);
        var same = model.Forward(batch.WithAggregates(torch.tensor(rows, [1, wide.Width]))).Logits.data<float>().ToArray();
        var again = model.Forward(batch.WithAggregates(torch.tensor(rows, [1, wide.Width]))).Logits.data<float>().ToArray();
        Assert.Equal(same, again);
        // The same tokens, gaps and mask; only the aggregates differ (every count doubled).
        var changed = model.Forward(batch.WithAggregates(torch.tensor(rows.Select(v => 2 * v + 1).ToArray(), [1, wide.Width]))).Logits.data<float>().ToArray();
        Assert.NotEqual(same.Where(float.IsFinite), changed.Where(float.IsFinite));

        // A batch without them is refused, naming the setting.
        var error = Assert.Throws<ArgumentException>(() => model.Forward(batch));
        Assert.Contains("aggregate_features", error.Message);
    }

    [Fact]
    public void Off_by_default_the_model_is_exactly_todays()
    {
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events, init: "\"use_time_gaps\": true");
        Assert.Equal(AggregateFeatures.None, config.Init.AggregateFeatures);
        using var model = ModelFactory.Create(config, PredictionTask.Events, SyntheticSequences.Vocabulary.Count, seed: 5, torch.CPU);
        Assert.Null(model.Aggregates);
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains("wide", StringComparison.Ordinal));
        // The head reads the pooled state alone: hidden size 32 in, vocabulary out.
        Assert.Equal([SyntheticSequences.Vocabulary.Count, 32L], model.state_dict()["head.linear.weight"].shape);
    }

    [Fact]
    public void Training_fits_the_standardization_on_the_training_split_and_the_checkpoint_carries_it()
    {
        var (data, result) = Train("rnn", PredictionTask.Churn, "\"hidden_size\": 8, " + Wide);
        using var model = result.Model;
        var (mean, scale) = model.Aggregates!.Parameters();
        // Column 0 counts token 1 (<UNK>, never drawn): no spread, scale 1; the length column (V − 1) has a real mean.
        var lengthColumn = SyntheticSequences.Vocabulary.Count - 1;
        var expected = data.Train.Average(e => Math.Log(1 + e.Tokens.Length));
        Assert.Equal(expected, mean[lengthColumn], 4);
        Assert.Equal(1f, scale[0]);
        Assert.NotEqual(1f, scale[lengthColumn]);
        // What the head reads: missing (NaN) is the training mean (0), and nothing exceeds the bound.
        using (torch.no_grad())
        {
            var width = model.Aggregates.Width;
            var extreme = Enumerable.Range(0, 2 * width).Select(i => i < width ? 1e9f : float.NaN).ToArray();
            var scaled = model.Aggregates.Forward(torch.tensor(extreme, [2, width])).data<float>().ToArray();
            Assert.All(scaled, v => Assert.InRange(v, -AggregateScaler.Bound, AggregateScaler.Bound));
            Assert.Contains(scaled[..width], v => v == AggregateScaler.Bound);
            Assert.All(scaled[width..], v => Assert.Equal(0f, v));
        }

        using var stream = new MemoryStream();
        ModelCheckpoint.ForServing(result, data).Write(stream);
        stream.Position = 0;
        var read = ModelCheckpoint.Read(stream);
        using var readModel = read.Model;
        Assert.Equal(AggregateFeatures.Trees, read.Config.Init.AggregateFeatures);
        Assert.Equal(mean, readModel.Aggregates!.Parameters().Mean);
        Assert.Equal(scale, readModel.Aggregates.Parameters().Scale);
    }

    [Theory]
    [InlineData("rnn", PredictionTask.Churn, "")]
    [InlineData("rnn", PredictionTask.Events, "")]
    [InlineData("rnn", PredictionTask.Churn, "\"combine_with_trees\": \"blend\"")]
    [InlineData("transformer", PredictionTask.Events, "")]
    public void A_wide_checkpoint_serves_exactly_what_it_was_evaluated_with_after_a_round_trip(string modelType, PredictionTask task, string pipeline)
    {
        var size = modelType == "rnn" ? "\"hidden_size\": 8" : "\"model_size\": 8";
        var (data, result) = Train(modelType, task, size + ", " + Wide, pipeline);
        using var model = result.Model;
        var checkpoint = ModelCheckpoint.ForServing(result, data);
        var evaluation = TestEvaluator.Evaluate(data, checkpoint);

        using var stream = new MemoryStream();
        checkpoint.Write(stream);
        stream.Position = 0;
        var read = ModelCheckpoint.Read(stream);
        using var predictor = new Predictor(read);
        ServedAnswers.AssertServedAsEvaluated(predictor, data, evaluation, task);
    }

    [Fact]
    public void A_wide_model_trains_with_the_auxiliary_loss_through_its_own_head()
    {
        // The shared auxiliary head reads the steps' states alone: the wide head's state columns.
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 200, validation: 60, test: 20, seed: 4);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events, init: "\"hidden_size\": 8, \"use_time_gaps\": true, " + Wide,
            training: "\"num_epochs\": 1, \"auxiliary_next_token_weight\": 0.2, \"auxiliary_next_token_head\": \"shared\"");
        var result = Trainer.Train(data, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 3));
        using var model = result.Model;
        Assert.NotNull(model.Aggregates);
        Assert.All(result.History, e => Assert.True(double.IsFinite(e.TrainLoss), $"loss {e.TrainLoss}"));
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("transformer")]
    public void An_unknown_value_is_an_error_naming_the_key_and_the_values(string modelType)
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            SyntheticSequences.Config(modelType, PredictionTask.Churn, init: "\"aggregate_features\": \"counts\""));
        Assert.Contains("aggregate_features", error.Message);
        Assert.Contains("trees", error.Message);
        Assert.Throws<InvalidInputException>(() => SyntheticSequences.Config(modelType, PredictionTask.Churn, init: "\"aggregate_features\": true"));
    }

    [Fact]
    public void The_grid_can_try_it_on_and_off()
    {
        var config = NnConfig.Parse("""
        { "model_type": "rnn", "model_training_params": { "task": "churn" },
          "grid_search_params": { "aggregate_features": ["none", "trees"] } }
        """);
        var trials = ModelGrid.Expand(config);
        Assert.Equal([AggregateFeatures.None, AggregateFeatures.Trees], trials.Select(t => t.Config.Init.AggregateFeatures));
    }
}
