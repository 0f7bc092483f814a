using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Training;

public class TrainerTests
{
    private static readonly TrainingRun OneThread = new(Threads: 1, Seed: 5);

    [Fact]
    public void A_tiny_rnn_learns_the_next_event_rule()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events,
            init: "\"embedding_size\": 16, \"hidden_size\": 24, \"attention_type\": \"global\", \"dropout_rate\": 0",
            training: "\"num_epochs\": 30, \"learning_rate\": 0.02", pipeline: "\"early_stopping_patience\": 4");

        using var result = Dispose(Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread));

        Assert.True(result.Value.BestValidationMetric >= 0.97, $"validation accuracy {result.Value.BestValidationMetric}");
        Assert.True(result.Value.History[^1].TrainLoss < result.Value.History[0].TrainLoss);
    }

    [Fact]
    public void A_tiny_transformer_learns_the_churn_rule()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn);
        var config = SyntheticSequences.Config("transformer", PredictionTask.Churn,
            init: "\"model_size\": 16, \"num_heads\": 2, \"dim_feedforward\": 32, \"pooling\": \"mean\", \"dropout_rate\": 0",
            training: "\"num_epochs\": 30, \"learning_rate\": 0.01, \"class_weights\": \"balanced\"", pipeline: "\"early_stopping_patience\": 5");

        using var result = Dispose(Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread));

        Assert.True(result.Value.BestValidationMetric >= 0.95, $"validation accuracy {result.Value.BestValidationMetric}");
    }

    [Fact]
    public void Training_is_repeatable_and_keeps_the_best_epoch()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 200, validation: 60, test: 10);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events,
            init: "\"hidden_size\": 8, \"dropout_rate\": 0.3, \"num_layers\": 2",
            training: "\"num_epochs\": 4, \"reg_type\": \"L1\", \"reg_lambda\": 0.0001", pipeline: "\"early_stopping_patience\": 0");
        var epochs = new List<EpochRecord>();

        using var first = Dispose(Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread with { OnEpoch = epochs.Add }));
        using var second = Dispose(Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread));

        Assert.Equal(4, epochs.Count);
        Assert.Equal(first.Value.History.Select(h => (h.TrainLoss, h.ValidationLoss)), second.Value.History.Select(h => (h.TrainLoss, h.ValidationLoss)));
        var best = first.Value.History.MaxBy(h => h.ValidationMetric)!;
        Assert.Equal(best.Epoch, first.Value.BestEpoch);
        // The returned model is the best epoch's: its validation predictions score what that epoch scored.
        Assert.Equal(best.ValidationMetric, SyntheticSequences.Accuracy(first.Value.ValidationPredictions), 6);
    }

    [Fact]
    public void Early_stopping_stops_after_patience_epochs_without_improvement()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 100, validation: 30, test: 10);
        // A constant metric never improves after the first epoch.
        var constant = new ValidationMetric("constant", _ => 0.5, HigherIsBetter: true);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events, init: "\"hidden_size\": 4",
            training: "\"num_epochs\": 20", pipeline: "\"early_stopping_patience\": 2");

        using var result = Dispose(Trainer.Train(data, config, constant, OneThread));

        Assert.Equal(3, result.Value.History.Count);
        Assert.Equal(1, result.Value.BestEpoch);
        Assert.True(result.Value.StoppedEarly);
    }

    [Fact]
    public void Cancellation_stops_training()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 100, validation: 30, test: 10);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events, init: "\"hidden_size\": 4");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() =>
            Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, OneThread with { Cancellation = cancelled.Token }));
    }

    [Fact]
    public void A_config_for_another_task_is_an_input_error()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 10, validation: 5, test: 5);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events);
        var error = Assert.Throws<InvalidInputException>(() => Trainer.Train(data, config, ValidationMetric.Loss, OneThread));
        Assert.Contains("model_training_params.task", error.Message);
    }

    private static Disposer Dispose(TrainingResult result) => new(result);

    private sealed class Disposer(TrainingResult value) : IDisposable
    {
        public TrainingResult Value { get; } = value;
        public void Dispose() => Value.Model.Dispose();
    }
}
