using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Data;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Models;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Tests.Prediction;
using CustomerAnalysis.Modeling.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Tests.Models;

/// <summary><c>model_init_params.ensemble_size</c>: several members of one architecture, served as one model.</summary>
public sealed class EnsembleModelTests
{
    private static SequenceBatch Batch() =>
        SequenceBatch.Create([new[] { 2, 5, 9, 3 }, new[] { 4 }, new[] { 7, 2 }], [new[] { 0f, 3, 60, 1 }, new[] { 0f }, new[] { 0f, 9 }], 50, torch.CPU);

    [Theory]
    [InlineData("0")]
    [InlineData("9")]
    [InlineData("\"3\"")]
    [InlineData("2.5")]
    public void An_ensemble_size_outside_1_to_8_is_an_input_error_naming_the_setting(string value)
    {
        var error = Assert.Throws<InvalidInputException>(() => SyntheticSequences.Config("rnn", PredictionTask.Churn, $"\"ensemble_size\": {value}"));
        Assert.Contains("model_init_params.ensemble_size", error.Message);
        Assert.Contains("from 1 to 8", error.Message);
    }

    [Theory]
    [InlineData("rnn", "\"use_time_gaps\": true, \"use_elapsed_time\": true")]
    [InlineData("transformer", "\"num_layers\": 2")]
    public void Ensemble_size_1_is_exactly_the_single_model_and_member_0_of_an_ensemble_starts_as_it(string modelType, string init)
    {
        var task = PredictionTask.Events;
        using var single = ModelFactory.Create(SyntheticSequences.Config(modelType, task, init), task, SyntheticSequences.Vocabulary.Count, seed: 5, torch.CPU);
        using var one = ModelFactory.Create(SyntheticSequences.Config(modelType, task, init + ", \"ensemble_size\": 1"), task,
            SyntheticSequences.Vocabulary.Count, seed: 5, torch.CPU);
        using var three = ModelFactory.Create(SyntheticSequences.Config(modelType, task, init + ", \"ensemble_size\": 3"), task,
            SyntheticSequences.Vocabulary.Count, seed: 5, torch.CPU);

        Assert.IsNotType<EnsembleModel>(one);
        var singleState = single.state_dict();
        var oneState = one.state_dict();
        // The same names (what a checkpoint written before ensembles holds) and the same initial weights.
        Assert.Equal(singleState.Keys.Order(), oneState.Keys.Order());
        Assert.DoesNotContain(oneState.Keys, k => k.StartsWith("members.", StringComparison.Ordinal));
        foreach (var (key, value) in singleState) Assert.True(value.allclose(oneState[key], 0, 0), key);

        var ensemble = Assert.IsType<EnsembleModel>(three);
        Assert.Equal(3, ensemble.Members.Count);
        var threeState = three.state_dict();
        Assert.Equal(singleState.Count * 3, threeState.Count);
        foreach (var (key, value) in singleState)
        {
            Assert.True(value.allclose(threeState["members.0." + key], 0, 0), key);
            // Randomly initialised in every architecture (a norm's weights start at 1 in all members alike).
            if (key == "embedding.weight")
                Assert.False(value.allclose(threeState["members.1." + key], 0, 0), $"members 0 and 1 start with the same {key}");
        }
    }

    [Theory]
    [InlineData("rnn", "\"attention_type\": \"multi-head\", \"num_heads\": 2")]
    [InlineData("transformer", "\"num_heads\": 2, \"num_layers\": 2")]
    public void The_ensemble_serves_the_members_mean_logit_or_mean_probability_and_their_mean_attention(string modelType, string init)
    {
        foreach (var task in new[] { PredictionTask.Churn, PredictionTask.Events })
        {
            using var model = ModelFactory.Create(SyntheticSequences.Config(modelType, task, init + ", \"ensemble_size\": 3"), task,
                SyntheticSequences.Vocabulary.Count, seed: 2, torch.CPU);
            var ensemble = Assert.IsType<EnsembleModel>(model);
            model.eval();
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var batch = Batch();
            var output = model.Forward(batch);
            var members = ensemble.Members.Select(m => m.Forward(batch)).ToArray();

            if (task == PredictionTask.Churn)
            {
                Assert.True(output.Logits.allclose(torch.stack(members.Select(m => m.Logits)).mean([0]), rtol: 1e-5, atol: 1e-6));
            }
            else
            {
                var mixture = torch.stack(members.Select(m => m.Logits.softmax(-1))).mean([0]);
                Assert.True(output.Logits.softmax(-1).allclose(mixture, rtol: 1e-4, atol: 1e-6));
                Assert.All(output.Logits.select(1, Vocabulary.Pad).data<float>().ToArray(), v => Assert.True(float.IsNegativeInfinity(v)));
            }
            Assert.True(output.Attention.allclose(torch.stack(members.Select(m => m.Attention)).mean([0])));
            Assert.True(output.Attention.sum(-1).allclose(torch.ones_like(output.Attention.sum(-1)), atol: 1e-5));
            Assert.Equal(0f, output.Attention[.., 1, 1..].abs().sum().item<float>()); // padding of the one-event row
            Assert.Equal(modelType == "transformer", output.LayerAttention is not null);
        }
    }

    [Theory]
    [InlineData(PredictionTask.Events, "\"auxiliary_next_token_weight\": 0.2, \"auxiliary_next_token_head\": \"shared\"")]
    [InlineData(PredictionTask.Churn, "\"auxiliary_next_token_weight\": 0.2")]
    public void An_ensemble_of_3_learns_the_rule_with_members_that_differ(PredictionTask task, string training)
    {
        var data = SyntheticSequences.Create(task, train: 400, validation: 100, test: 100, seed: 4);
        var config = SyntheticSequences.Config("rnn", task, init: "\"hidden_size\": 16, \"max_sequence_length\": 6, \"ensemble_size\": 3",
            training: "\"num_epochs\": 12, \"learning_rate\": 0.02, " + training);
        var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(1, 3));
        using var model = result.Model;

        var ensemble = Assert.IsType<EnsembleModel>(model);
        Assert.All(result.History, e => Assert.True(double.IsFinite(e.TrainLoss) && double.IsFinite(e.ValidationLoss), $"loss {e.TrainLoss}"));
        var accuracy = SyntheticSequences.Accuracy(Trainer.Predict(model, data.Test, 6, 32));
        Assert.True(accuracy > 0.9, $"test accuracy {accuracy}");
        // Trained together, the members still differ (their own initial weights and dropout masks).
        var state = model.state_dict();
        var key = state.Keys.First(k => k.StartsWith("members.0.", StringComparison.Ordinal) && k.EndsWith("weight", StringComparison.Ordinal));
        Assert.False(state[key].allclose(state["members.1." + key["members.0.".Length..]]), key);
        Assert.Equal(3, ensemble.Members.Count);
    }

    [Theory]
    [InlineData("rnn", PredictionTask.Events, "\"combine_with_trees\": \"blend\"")]
    [InlineData("rnn", PredictionTask.Churn, "\"combine_with_trees\": \"blend\"")]
    [InlineData("transformer", PredictionTask.Churn, "")]
    public void An_ensemble_checkpoint_predicts_identically_after_a_round_trip_and_serves_what_it_was_evaluated_with(
        string modelType, PredictionTask task, string pipeline)
    {
        var data = SyntheticSequences.Create(task, train: 300, validation: 100, test: 40, seed: 4);
        var size = modelType == "rnn" ? "\"hidden_size\": 8" : "\"model_size\": 8";
        var config = SyntheticSequences.Config(modelType, task, init: size + ", \"use_time_gaps\": true, \"max_sequence_length\": 6, \"ensemble_size\": 2",
            training: "\"num_epochs\": 2, \"learning_rate\": 0.01", pipeline: pipeline);
        var result = Trainer.Train(data, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 3));
        using var model = result.Model;
        var checkpoint = ModelCheckpoint.ForServing(result, data);
        var evaluation = TestEvaluator.Evaluate(data, checkpoint);

        using var stream = new MemoryStream();
        checkpoint.Write(stream);
        stream.Position = 0;
        var read = ModelCheckpoint.Read(stream);
        using var predictor = new Predictor(read);
        Assert.IsType<EnsembleModel>(read.Model);
        Assert.Equal(2, read.Config.Init.EnsembleSize);

        model.eval();
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var batch = SequenceBatch.Create([new[] { 2, 5, 9, 3 }, new[] { 4 }], [new[] { 0f, 3, 60, 1 }, new[] { 0f }], 6, torch.CPU);
            var before = model.Forward(batch);
            var after = read.Model.Forward(batch);
            Assert.Equal(before.Logits.data<float>().ToArray(), after.Logits.data<float>().ToArray());
            Assert.Equal(before.Attention.data<float>().ToArray(), after.Attention.data<float>().ToArray());
        }
        ServedAnswers.AssertServedAsEvaluated(predictor, data, evaluation, task);
    }
}
