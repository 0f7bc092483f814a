using System.Collections.Concurrent;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Experiments;
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

public class GridSearchFailureTests
{
    /// <summary>Churn data whose training split has one label only: "balanced" class weights cannot be computed, so
    /// a trial with them throws, and a trial without them trains.</summary>
    private static PreparedDataset OneLabelChurn()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 120, validation: 40, test: 30);
        return new PreparedDataset(data.Task, data.Options, data.Vocabulary,
            data.Train.Select(e => e with { Label = 0 }).ToArray(), data.Validation, data.Test, data.Summary);
    }

    private static NnConfig Grid(string classWeights) => NnConfig.Parse($$"""
        {
          "model_type": "rnn",
          "model_init_params": { "hidden_size": 4, "embedding_size": 4, "dropout_rate": 0, "attention_type": "last" },
          "model_training_params": { "task": "churn", "device": "cpu", "num_epochs": 1, "batch_size": 32 },
          "grid_search_params": { "class_weights": {{classWeights}}, "learning_rate": [0.01, 0.02] }
        }
        """);

    [Fact]
    public void A_failed_trial_is_recorded_with_its_error_and_the_others_still_finish()
    {
        var data = OneLabelChurn();
        var reported = new ConcurrentBag<FailedTrial>();

        var result = GridSearch.Run(data, Grid("""["balanced", "none"]"""), SyntheticSequences.AccuracyMetric,
            new GridSearchRun(MaxParallelTrials: 2, Cores: 2, OnTrialFailed: reported.Add));
        using var best = result.Best.Training.Model;

        Assert.Equal([2, 3], result.Trials.Select(t => t.Trial.Index)); // class_weights varies slowest: 0 and 1 are balanced
        Assert.Equal([0, 1], result.Failed.Select(f => f.Trial.Index));
        Assert.All(result.Failed, f => Assert.Contains("only one label", f.Error));
        Assert.Equal(2, reported.Count);
        Assert.Contains(result.Best, result.Trials);
        Assert.Equal(data.Test.Count, result.TestPredictions.Count);
    }

    [Fact]
    public void The_experiment_report_lists_the_failed_trials_in_its_json()
    {
        var config = NnConfig.Parse("""
        {
          "model_type": "rnn",
          "model_init_params": { "hidden_size": 4, "embedding_size": 4, "dropout_rate": 0 },
          "model_training_params": { "task": "events", "device": "cpu", "num_epochs": 1, "batch_size": 32 },
          "grid_search_params": { "attention_type": ["global", "last"] }
        }
        """);
        // Trial 0 fails in the middle of its training (as a native error would: from inside Trainer.Train).
        var run = new GridSearchRun(MaxParallelTrials: 1, Cores: 1,
            OnEpoch: (trial, _) => { if (trial.Index == 0) throw new InvalidOperationException("simulated native failure\nframe #0: ..."); });

        using var experiment = Experiment.Run(SyntheticSequences.Create(PredictionTask.Events, train: 120, validation: 40, test: 30), config, run);

        var failed = experiment.Report.ToJson()["failed_trials"]!.AsArray();
        Assert.Single(failed);
        Assert.Equal(0, (int)failed[0]!["trial"]!);
        Assert.Equal("global", (string?)failed[0]!["params"]!["attention_type"]);
        Assert.Equal("InvalidOperationException: simulated native failure", (string?)failed[0]!["error"]); // one line
        Assert.Equal(1, experiment.Report.Best.Index);
        Assert.Single(experiment.Report.Trials);
    }

    [Fact]
    public void When_every_trial_fails_the_search_throws_the_first_failure()
    {
        var error = Assert.Throws<InvalidInputException>(() => GridSearch.Run(OneLabelChurn(), Grid("""["balanced"]"""),
            SyntheticSequences.AccuracyMetric, new GridSearchRun(MaxParallelTrials: 2, Cores: 2)));

        Assert.Contains("only one label", error.Message);
    }
}

public class AshaSearchTests
{
    [Fact]
    public void Weak_trials_stop_at_the_first_rung_and_the_search_still_picks_the_best()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 300, validation: 80, test: 50);
        // Rungs at epochs 1, 2, 4 (η = 2). One trial at a time, so the order the trials reach the rungs is the grid's
        // and the outcome is fixed: the two 0.02 trials come first; the 1e-5 trials cannot learn in one epoch and are
        // below the best one (then the best two) of those that reached epoch 1.
        var config = NnConfig.Parse("""
        {
          "model_type": "rnn",
          "model_init_params": { "hidden_size": 16, "embedding_size": 8, "dropout_rate": 0 },
          "model_training_params": { "task": "events", "device": "cpu", "num_epochs": 6, "batch_size": 32 },
          "pipeline_params": { "early_stopping_patience": 0, "search": "asha", "asha_min_epochs": 1, "asha_reduction_factor": 2 },
          "grid_search_params": { "learning_rate": [0.02, 0.00001], "attention_type": ["global", "last"] }
        }
        """);
        Assert.Equal([1, 2, 4], Asha.Rungs(config));

        var result = GridSearch.Run(data, config, SyntheticSequences.AccuracyMetric, new GridSearchRun(MaxParallelTrials: 1, Cores: 2));
        using var bestModel = result.Best.Training.Model;

        Assert.Equal(4, result.Trials.Count); // stopped trials are trials, not failures
        Assert.Empty(result.Failed);
        var byIndex = result.Trials.ToDictionary(t => t.Trial.Index);
        Assert.Null(byIndex[0].Training.StoppedAtRung); // first at every rung: nothing to compare with
        Assert.Equal(6, byIndex[0].Training.History.Count);
        foreach (var weak in new[] { 2, 3 })
        {
            Assert.Equal(1, byIndex[weak].Training.StoppedAtRung);
            Assert.Single(byIndex[weak].Training.History);
            Assert.True(byIndex[weak].Training.StoppedEarly);
        }
        Assert.Equal(0.02, result.Best.Trial.Config.Training.LearningRate);
        Assert.Equal(result.Trials.Max(t => t.Training.BestValidationMetric), result.Best.Training.BestValidationMetric);
        Assert.Equal(data.Test.Count, result.TestPredictions.Count);
        // Fewer epochs than the full grid's 4 × 6: the point of the search.
        Assert.True(result.Trials.Sum(t => t.Training.History.Count) <= 6 + 6 + 1 + 1);
    }
}
