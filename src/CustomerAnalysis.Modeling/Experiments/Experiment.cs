using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>A finished experiment: the report and the best model as a checkpoint (dispose to free the model).</summary>
public sealed record ExperimentResult(ExperimentReport Report, ModelCheckpoint Checkpoint) : IDisposable
{
    public void Dispose() => Checkpoint.Model.Dispose();
}

/// <summary>
/// The whole training flow in one call: grid search (validation picks the best trial), then the best model and the
/// baselines on test. Each step is public on its own for hosts that run them separately (a pipeline trains each
/// trial in its own activity): <see cref="ModelGrid.Expand"/> / <see cref="Trainer.Train"/> per trial,
/// <see cref="TrialSummary.From(TrialSpec, TrainingResult, double, PreparedDataset, double)"/>,
/// <see cref="TestEvaluator.Evaluate(PreparedDataset, ModelCheckpoint)"/>,
/// <see cref="Complete"/>.
/// </summary>
public static class Experiment
{
    public static ExperimentResult Run(PreparedDataset data, NnConfig config, GridSearchRun run)
    {
        var metric = PredictionScoring.ValidationMetricFor(config);
        var grid = GridSearch.Run(data, config, metric, run);
        var threshold = config.Pipeline.ProbThreshold;
        var trials = grid.Trials.Select(t => TrialSummary.From(t, data, threshold)).ToArray();
        var best = trials.Single(t => t.Index == grid.Best.Trial.Index);
        // The best trial's config: the trees read gaps only if that model does; its seed is the config's (trials'
        // own seeds are passed beside it), so the checkpoint's evaluation fits the same trees.
        var checkpoint = ModelCheckpoint.ForServing(grid.Best.Training, data);
        // Test is scored as the checkpoint serves: blended with the trees (combine_with_trees), churn probabilities
        // calibrated on validation.
        var test = TestEvaluator.Evaluate(data, checkpoint.Served(grid.TestPredictions, data.Test), threshold,
            TestEvaluator.TreesFor(grid.Best.Training.Config, data),
            checkpoint.TreesBlend is null ? null : ModelCheckpoint.FromTraining(grid.Best.Training, data.Vocabulary).CalibratedChurn(grid.TestPredictions));
        var report = new ExperimentReport(metric.Name, best, test, trials)
        {
            FailedTrials = grid.Failed.Select(f => new FailedTrialSummary(f.Trial.Index, f.Trial.Settings, f.Trial.Seed, f.Seconds, f.Error)).ToArray(),
        };
        return new ExperimentResult(report, Complete(checkpoint, report));
    }

    /// <summary>The best model's checkpoint with its validation and test metrics (<c>val_*</c>, <c>test_*</c>) filled in.</summary>
    public static ModelCheckpoint Complete(ModelCheckpoint checkpoint, ExperimentReport report)
    {
        // A checkpoint's header is JSON: undefined (NaN) metrics are left out.
        var metrics = MetricNames.Finite(
            report.Best.Validation.Select(m => KeyValuePair.Create($"val_{m.Key}", m.Value))
                .Concat(report.Best.RecentValidation.Select(m => KeyValuePair.Create($"val_{TrialSummary.RecentPrefix}{m.Key}", m.Value)))
                .Concat(report.Test.Model.Scalars.Select(m => KeyValuePair.Create($"test_{m.Key}", m.Value))));
        return checkpoint.WithMetrics(metrics);
    }
}
