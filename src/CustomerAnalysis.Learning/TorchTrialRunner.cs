using System.Diagnostics;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Plots;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using ModelingTrialResult = CustomerAnalysis.Modeling.Training.TrainingResult;
using TrialResult = CustomerAnalysis.Pipeline.Training.TrialResult;

namespace CustomerAnalysis.Learning;

/// <summary>
/// Trains one grid point with TorchSharp (<see cref="Trainer.Train"/>) on a dedicated thread with the trial's seed,
/// like <c>ca train</c>'s grid search. Writes the checkpoint (config, vocabulary, weights, validation metrics) and the
/// trial's training-curve plot. A trial worker process runs one trial at a time, so the torch thread budget (process
/// wide) is the worker's.
/// </summary>
public sealed class TorchTrialRunner(LearningOptions options) : ITrialRunner
{
    public const string TrainingCurvesFile = "training_curves.png";

    /// <summary>combine_with_trees: the trees blended in, fitted once per dataset for all the trials of this runner.</summary>
    public BlendTreesCache BlendTrees { get; } = new();

    public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
    {
        var config = TrialConfig(request);
        var threads = config.Training.NumThreads > 0 ? config.Training.NumThreads : options.TorchThreads;
        var (training, seconds) = await TrainOnOwnThreadAsync(request, config, threads, cancellationToken);
        using var model = training.Model;
        var data = request.Dataset;
        var summary = TrialSummary.From(training, seconds, data, config.Pipeline.ProbThreshold);
        // With the val_recent split's metrics (recent_*) and the selection_score the run ranks trials on.
        var validation = MetricNames.Finite(summary.FlatValidation());

        // combine_with_trees: the trial's checkpoint is the served model, blended with trees fitted on the dataset by
        // the first trial that needs them.
        var checkpoint = ModelCheckpoint.ForServing(training, data,
            validation.ToDictionary(m => "val_" + m.Key, m => m.Value), treesOptions => BlendTrees.GetOrFit(data, treesOptions));
        await using (var file = File.Create(request.CheckpointPath))
            checkpoint.Write(file);

        TrainingCurves.Save(Path.Combine(request.PlotsDirectory, TrainingCurvesFile), new TrialHistory(
            $"{request.RunId}/{request.TrialId}",
            training.History.Select(e => e.TrainLoss).ToArray(),
            training.History.Select(e => e.ValidationLoss).ToArray(),
            config.Pipeline.GridSearchMetric,
            training.History.Select(e => e.ValidationMetric).ToArray()));

        return new TrialResult(training.History.Select(e => Epoch(e, config)).ToList(), validation)
        {
            StoppedAtEpoch = training.StoppedAtRung,
        };
    }

    private static EpochMetrics Epoch(EpochRecord e, NnConfig config) => new(e.Epoch, MetricNames.Finite(
        new Dictionary<string, double>
        {
            ["train_loss"] = e.TrainLoss,
            ["val_loss"] = e.ValidationLoss,
            ["val_" + config.Pipeline.GridSearchMetric] = e.ValidationMetric,
            ["val_" + TrialSummary.RecentPrefix + config.Pipeline.GridSearchMetric] = e.RecentValidationMetric,
            ["seconds"] = e.Seconds,
        }));

    /// <summary>The run's config with this trial's grid point applied (no grid left).</summary>
    private static NnConfig TrialConfig(TrialRequest request) =>
        NnConfig.Parse(request.ModelConfig).WithSettings(
            request.Params.ToDictionary(p => p.Key, p => JsonNode.Parse(p.Value.GetRawText())!, StringComparer.Ordinal));

    /// <summary>Torch keeps part of its thread state per OS thread, so each trial gets a dedicated one.</summary>
    private static Task<(ModelingTrialResult Training, double Seconds)> TrainOnOwnThreadAsync(
        TrialRequest request, NnConfig config, int threads, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<(ModelingTrialResult, double)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var clock = Stopwatch.StartNew();
                var metric = PredictionScoring.ValidationMetricFor(config);
                var result = Trainer.Train(request.Dataset, config, metric,
                    new TrainingRun(threads, request.Seed,
                        request.OnEpoch is { } onEpoch ? e => onEpoch(Epoch(e, config)) : null, cancellationToken)
                    {
                        // asha: the run's trials meet at the rungs in the run's record.
                        KeepGoing = request.Rungs is { } rungs
                            ? Asha.Stopper(config, rungs, request.RunId, request.TrialId, metric.HigherIsBetter, cancellationToken)
                            : null,
                    });
                done.SetResult((result, clock.Elapsed.TotalSeconds));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true, Name = "trial" };
        thread.Start();
        return done.Task;
    }
}
