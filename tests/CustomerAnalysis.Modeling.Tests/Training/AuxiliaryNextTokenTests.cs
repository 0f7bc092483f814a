using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Training;

/// <summary><c>model_training_params.auxiliary_next_token_weight</c>: every step of the input also predicts the event
/// after it, so the transitions inside the sessions teach the model, not only each session's last one.</summary>
public class AuxiliaryNextTokenTests
{
    private static readonly TrainingRun OneThread = new(Threads: 1, Seed: 3);

    private const string Init = "\"embedding_size\": 16, \"hidden_size\": 24, \"attention_type\": \"last\", \"dropout_rate\": 0";

    [Fact]
    public void Transitions_seen_only_inside_training_sessions_are_learned_with_the_shared_head_and_not_without()
    {
        // Sessions walk a cycle (event_k → event_k+1). Training sessions all end on events 0-3, so their labels are
        // events 1-4 only; validation sessions end on 4-7 (labels 5-7 and 0). Only the steps inside the training
        // sessions show those transitions: the task's loss alone can never predict them; predicted through the
        // model's own head (auxiliary_next_token_head "shared"), those steps teach it them.
        var data = CycleDataset();
        double Validation(double weight)
        {
            var config = SyntheticSequences.Config("rnn", PredictionTask.Events, init: Init,
                training: $"\"num_epochs\": 25, \"learning_rate\": 0.02, \"auxiliary_next_token_weight\": {weight}, \"auxiliary_next_token_head\": \"shared\"",
                pipeline: "\"early_stopping_patience\": 0");
            var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread);
            using var model = result.Model;
            return result.BestValidationMetric;
        }

        var without = Validation(0);
        var with = Validation(1);

        Assert.True(without <= 0.05, $"validation accuracy without the auxiliary loss {without}");
        Assert.True(with >= 0.9, $"validation accuracy with it {with}");
    }

    [Theory]
    [InlineData("separate")]
    [InlineData("shared")]
    public void Weight_0_trains_exactly_as_without_the_setting_and_a_positive_weight_changes_the_training_but_not_the_model(string head)
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 120, validation: 40, test: 10);
        const string training = "\"num_epochs\": 3, \"learning_rate\": 0.01";
        (List<(double, double)> Losses, string[] Parameters) Train(string extra)
        {
            var config = SyntheticSequences.Config("rnn", PredictionTask.Events, init: "\"hidden_size\": 8, \"dropout_rate\": 0.2",
                training: training + extra, pipeline: "\"early_stopping_patience\": 0");
            var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread);
            using var model = result.Model;
            return (result.History.Select(h => (h.TrainLoss, h.ValidationLoss)).ToList(),
                model.state_dict().Select(p => $"{p.Key} {string.Join('x', p.Value.shape)}").ToArray());
        }

        var today = Train("");
        var zero = Train($", \"auxiliary_next_token_weight\": 0, \"auxiliary_next_token_head\": \"{head}\"");
        var half = Train($", \"auxiliary_next_token_weight\": 0.5, \"auxiliary_next_token_head\": \"{head}\"");

        Assert.Equal(today.Losses, zero.Losses);
        Assert.NotEqual(today.Losses, half.Losses);
        // The auxiliary head is the trainer's (or the model's own): the trained model, and so its checkpoint, has
        // exactly the parameters of one trained without it.
        Assert.Equal(today.Parameters, half.Parameters);
    }

    [Theory]
    [InlineData("separate")]
    [InlineData("shared")] // churn's head has one logit: a separate head all the same, so one config serves both tasks
    public void Churn_training_with_the_auxiliary_loss_runs_on_one_event_sessions_and_differs_from_without(string head)
    {
        // Length 1 everywhere in some batches: nothing to predict there (the churn label is no event).
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 120, validation: 40, test: 10, maxLength: 3);
        List<double> Losses(double weight)
        {
            var config = SyntheticSequences.Config("rnn", PredictionTask.Churn, init: "\"hidden_size\": 8",
                training: $"\"num_epochs\": 2, \"auxiliary_next_token_weight\": {weight}, \"auxiliary_next_token_head\": \"{head}\"", pipeline: "\"early_stopping_patience\": 0");
            var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread);
            using var model = result.Model;
            return result.History.Select(h => h.ValidationLoss).ToList();
        }

        var with = Losses(1);

        Assert.All(with, loss => Assert.True(double.IsFinite(loss), $"validation loss {loss}"));
        Assert.NotEqual(Losses(0), with);
    }

    private static PreparedDataset CycleDataset()
    {
        var random = new Random(7);
        const int kinds = SyntheticSequences.EventKinds;
        IReadOnlyList<SequenceExample> Make(int count, int firstEnd) => Enumerable.Range(0, count).Select(i =>
        {
            var end = firstEnd + random.Next(4);
            var length = random.Next(6, 13);
            // Walk back from the last event: step t is end - (length - 1 - t) around the cycle.
            var tokens = Enumerable.Range(0, length).Select(t => 2 + ((end - (length - 1 - t)) % kinds + kinds) % kinds).ToArray();
            var gaps = tokens.Select(_ => 10f).ToArray();
            return new SequenceExample($"s{firstEnd}-{i}", $"u{firstEnd}-{i}", tokens, gaps, 2 + (end + 1) % kinds);
        }).ToArray();
        var reference = SyntheticSequences.Create(PredictionTask.Events, train: 1, validation: 1, test: 1);
        return new PreparedDataset(PredictionTask.Events, reference.Options, reference.Vocabulary, Make(300, 0), Make(100, 4), Make(20, 4),
            reference.Summary);
    }
}
