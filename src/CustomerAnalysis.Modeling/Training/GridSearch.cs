using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;

namespace CustomerAnalysis.Modeling.Training;

public sealed record TrialResult(TrialSpec Trial, TrainingResult Training, double Seconds);

/// <param name="Trials">Every trial in grid order. Their models are disposed except the best's.</param>
/// <param name="Best">The trial with the best validation score (the first of equals).</param>
/// <param name="TestPredictions">The best model's predictions on the test split: the only time test is used.</param>
public sealed record GridSearchResult(IReadOnlyList<TrialResult> Trials, TrialResult Best, PredictionSet TestPredictions, double TestScore);

/// <param name="MaxParallelTrials">Trials at once; 0 = pipeline_params.max_parallel_trials, or one per core.</param>
/// <param name="Cores">Cores to share among trials; 0 = all of this machine's.</param>
public sealed record GridSearchRun(
    int MaxParallelTrials = 0,
    int Cores = 0,
    Action<TrialSpec, EpochRecord>? OnEpoch = null,
    Action<TrialResult>? OnTrialCompleted = null,
    CancellationToken Cancellation = default);

/// <summary>
/// Trains every configuration of <c>grid_search_params</c> (their cartesian product), several at once on dedicated
/// threads with their own torch thread budget and seed, picks the best on validation and scores it once on test.
/// </summary>
public static class GridSearch
{
    public static GridSearchResult Run(PreparedDataset data, NnConfig config, ValidationMetric metric, GridSearchRun run)
    {
        var trials = ModelGrid.Expand(config);
        var cores = run.Cores > 0 ? run.Cores : Environment.ProcessorCount;
        var parallel = run.MaxParallelTrials > 0 ? run.MaxParallelTrials
            : config.Pipeline.MaxParallelTrials > 0 ? config.Pipeline.MaxParallelTrials
            : cores;
        parallel = Math.Clamp(parallel, 1, trials.Count);
        var threadsPerTrial = config.Training.NumThreads > 0 ? config.Training.NumThreads : Math.Max(1, cores / parallel);

        var results = new TrialResult?[trials.Count];
        var queue = new ConcurrentQueue<TrialSpec>(trials);
        ExceptionDispatchInfo? failure = null;
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(run.Cancellation);

        // Dedicated threads, not pool tasks: torch's thread budget is set per OS thread.
        var workers = Enumerable.Range(0, parallel).Select(_ => new Thread(() =>
        {
            while (!failed.IsCancellationRequested && queue.TryDequeue(out var trial))
            {
                try
                {
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var training = Trainer.Train(data, trial.Config, metric,
                        new TrainingRun(threadsPerTrial, trial.Seed, e => run.OnEpoch?.Invoke(trial, e), failed.Token));
                    var result = new TrialResult(trial, training, clock.Elapsed.TotalSeconds);
                    results[trial.Index] = result;
                    run.OnTrialCompleted?.Invoke(result);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                    failed.Cancel();
                }
            }
        }) { IsBackground = true, Name = "grid-trial" }).ToArray();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();

        if (failure is not null)
        {
            foreach (var result in results) result?.Training.Model.Dispose();
            run.Cancellation.ThrowIfCancellationRequested();
            failure.Throw();
        }

        var completed = results.Select(r => r!).ToArray();
        var best = completed[0];
        foreach (var candidate in completed.Skip(1))
            if (metric.IsBetter(candidate.Training.BestValidationMetric, best.Training.BestValidationMetric))
                best = candidate;
        foreach (var result in completed)
            if (result != best) result.Training.Model.Dispose();

        TorchSharp.torch.set_num_threads(Math.Max(1, cores));
        var test = Trainer.Predict(best.Training.Model, data.Test, best.Trial.Config.Init.MaxSequenceLength, best.Trial.Config.Training.BatchSize);
        var testScore = data.Test.Count == 0 ? double.NaN : metric.Score(test);
        return new GridSearchResult(completed, best, test, testScore);
    }
}
