using System.Collections.Concurrent;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Training;

public class GridSearchTests
{
    [Fact]
    public void Trials_run_in_parallel_the_best_on_validation_wins_and_is_scored_on_test()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 300, validation: 80, test: 50);
        var config = NnConfig.Parse("""
        {
          "model_type": "rnn",
          "model_init_params": { "hidden_size": 16, "embedding_size": 8, "dropout_rate": 0 },
          "model_training_params": { "task": "events", "device": "cpu", "num_epochs": 6, "batch_size": 32 },
          "pipeline_params": { "early_stopping_patience": 2 },
          "grid_search_params": { "learning_rate": [0.00001, 0.02], "attention_type": ["global", "last"] }
        }
        """);
        var epochsByTrial = new ConcurrentDictionary<int, int>();

        var result = GridSearch.Run(data, config, SyntheticSequences.AccuracyMetric,
            new GridSearchRun(MaxParallelTrials: 2, Cores: 2, OnEpoch: (trial, _) => epochsByTrial.AddOrUpdate(trial.Index, 1, (_, n) => n + 1)));
        using var bestModel = result.Best.Training.Model;

        Assert.Equal(4, result.Trials.Count);
        Assert.Equal(Enumerable.Range(0, 4), result.Trials.Select(t => t.Trial.Index));
        Assert.Equal(4, epochsByTrial.Count);
        Assert.Equal(result.Trials.Max(t => t.Training.BestValidationMetric), result.Best.Training.BestValidationMetric);
        Assert.Equal(0.02, result.Best.Trial.Config.Training.LearningRate); // the tiny rate cannot learn in 6 epochs
        Assert.Equal(data.Test.Count, result.TestPredictions.Count);
        Assert.Equal(SyntheticSequences.Accuracy(result.TestPredictions), result.TestScore);
    }
}
