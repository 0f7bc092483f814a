using System.Diagnostics;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Configuration;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Plots;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline.Storage;
using ModelingTrialResult = CustomerAnalysis.Modeling.Training.TrainingResult;

namespace CustomerAnalysis.Pipeline.Training.InProcess;

/// <summary>
/// Trains one grid point in this process with TorchSharp (<see cref="Trainer.Train"/>), on a dedicated thread with
/// its own torch thread budget and seed, like <c>ca train</c>'s grid search. Writes the checkpoint (config, vocabulary,
/// weights, validation metrics) and the trial's training-curve plot.
/// </summary>
public sealed class TorchTrialRunner : ITrialRunner, IDisposable
{
    public const string TrainingCurvesFile = "training_curves.png";

    // The Durable worker may start more trials than there are cores: the rest wait here rather than thrash.
    private readonly SemaphoreSlim _slots;
    private readonly int _threadsPerTrial;

    /// <param name="maxParallelTrials">Trials trained at once; 0 = one per core.</param>
    /// <param name="threadsPerTrial">Torch intra-op threads per trial when the config's <c>num_threads</c> is 0.</param>
    public TorchTrialRunner(int maxParallelTrials = 0, int threadsPerTrial = 1)
    {
        var slots = maxParallelTrials > 0 ? maxParallelTrials : Environment.ProcessorCount;
        _slots = new SemaphoreSlim(slots, slots);
        _threadsPerTrial = Math.Max(1, threadsPerTrial);
    }

    public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
    {
        var config = TrialConfig(request);
        await _slots.WaitAsync(cancellationToken);
        try
        {
            var threads = config.Training.NumThreads > 0 ? config.Training.NumThreads : _threadsPerTrial;
            var (training, seconds) = await TrainOnOwnThreadAsync(request.Dataset, config, request.Seed, threads, cancellationToken);
            using var model = training.Model;
            var data = request.Dataset;
            var summary = TrialSummary.From(training, seconds, data, config.Pipeline.ProbThreshold);
            var validation = MetricNames.Finite(summary.Validation);

            var checkpoint = ModelCheckpoint.FromTraining(training, data.Vocabulary,
                validation.ToDictionary(m => "val_" + m.Key, m => m.Value));
            await using (var file = File.Create(request.CheckpointPath))
                checkpoint.Write(file);

            TrainingCurves.Save(Path.Combine(request.PlotsDirectory, TrainingCurvesFile), new TrialHistory(
                $"{request.RunId}/{request.TrialId}",
                training.History.Select(e => e.TrainLoss).ToArray(),
                training.History.Select(e => e.ValidationLoss).ToArray(),
                config.Pipeline.GridSearchMetric,
                training.History.Select(e => e.ValidationMetric).ToArray()));

            var epochs = training.History.Select(e => new EpochMetrics(e.Epoch, MetricNames.Finite(new Dictionary<string, double>
            {
                ["train_loss"] = e.TrainLoss,
                ["val_loss"] = e.ValidationLoss,
                ["val_" + config.Pipeline.GridSearchMetric] = e.ValidationMetric,
                ["seconds"] = e.Seconds,
            }))).ToList();
            return new TrialResult(epochs, validation);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The run's config with this trial's grid point applied (no grid left).</summary>
    private static NnConfig TrialConfig(TrialRequest request) =>
        NnConfig.Parse(request.ModelConfig).WithSettings(
            request.Params.ToDictionary(p => p.Key, p => JsonNode.Parse(p.Value.GetRawText())!, StringComparer.Ordinal));

    /// <summary>Torch's thread budget is per OS thread, so each trial gets a dedicated one.</summary>
    private static Task<(ModelingTrialResult Training, double Seconds)> TrainOnOwnThreadAsync(
        PreparedDataset data, NnConfig config, int seed, int threads, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<(ModelingTrialResult, double)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var clock = Stopwatch.StartNew();
                var result = Trainer.Train(data, config, PredictionScoring.ValidationMetricFor(config),
                    new TrainingRun(threads, seed, Cancellation: cancellationToken));
                done.SetResult((result, clock.Elapsed.TotalSeconds));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true, Name = "pipeline-trial" };
        thread.Start();
        return done.Task;
    }

    public void Dispose() => _slots.Dispose();
}
