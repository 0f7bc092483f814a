using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;

namespace CustomerAnalysis.Modeling.Training;

public sealed record TrialResult(TrialSpec Trial, TrainingResult Training, double Seconds);

/// <summary>A trial that threw: what it was and the one-line error, so the grid goes on without it.</summary>
public sealed record FailedTrial(TrialSpec Trial, string Error, double Seconds);

/// <param name="Trials">Every trial that finished, in grid order. Their models are disposed except the best's.</param>
/// <param name="Failed">Every trial that threw, in grid order (not in <paramref name="Trials"/>).</param>
/// <param name="Best">The trial with the best validation score (the first of equals).</param>
/// <param name="TestPredictions">The best model's predictions on the test split: the only time test is used.</param>
public sealed record GridSearchResult(IReadOnlyList<TrialResult> Trials, TrialResult Best, PredictionSet TestPredictions, double TestScore)
{
    public IReadOnlyList<FailedTrial> Failed { get; init; } = [];
}

/// <param name="MaxParallelTrials">Trials at once; 0 = pipeline_params.max_parallel_trials, or one per core.</param>
/// <param name="Cores">Cores to share among trials; 0 = all of this machine's.</param>
public sealed record GridSearchRun(
    int MaxParallelTrials = 0,
    int Cores = 0,
    Action<TrialSpec, EpochRecord>? OnEpoch = null,
    Action<TrialResult>? OnTrialCompleted = null,
    Action<FailedTrial>? OnTrialFailed = null,
    CancellationToken Cancellation = default);

/// <summary>
/// Trains every configuration of <c>grid_search_params</c> (their cartesian product), several at once on dedicated
/// threads with their own torch thread budget and seed, picks the best on validation and scores it once on test.
/// A trial that throws is recorded (<see cref="GridSearchResult.Failed"/>) and the others go on: one native failure
/// never loses a grid's finished trials. Only when every trial fails does the search throw (the first failure).
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
        var failures = new FailedTrial?[trials.Count];
        var exceptions = new ExceptionDispatchInfo?[trials.Count];
        var queue = new ConcurrentQueue<TrialSpec>(trials);
        // asha: the trials of this search share one in-process rung board.
        var rungs = new InMemoryRungBoard();
        const string searchId = "grid";

        // Dedicated threads, not pool tasks: torch's thread budget is set per OS thread.
        var workers = Enumerable.Range(0, parallel).Select(_ => new Thread(() =>
        {
            while (!run.Cancellation.IsCancellationRequested && queue.TryDequeue(out var trial))
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    var stopper = Asha.Stopper(trial.Config, rungs, searchId, trial.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        metric.HigherIsBetter, run.Cancellation);
                    var training = Trainer.Train(data, trial.Config, metric,
                        new TrainingRun(threadsPerTrial, trial.Seed, e => run.OnEpoch?.Invoke(trial, e), run.Cancellation) { KeepGoing = stopper });
                    var result = new TrialResult(trial, training, clock.Elapsed.TotalSeconds);
                    results[trial.Index] = result;
                    run.OnTrialCompleted?.Invoke(result);
                }
                catch (OperationCanceledException) when (run.Cancellation.IsCancellationRequested)
                {
                    // The whole search is being cancelled: not this trial's failure.
                }
                catch (Exception e)
                {
                    exceptions[trial.Index] = ExceptionDispatchInfo.Capture(e);
                    var failed = failures[trial.Index] = new FailedTrial(trial, OneLine(e), clock.Elapsed.TotalSeconds);
                    try { run.OnTrialFailed?.Invoke(failed); }
                    catch (Exception) { /* a reporting callback never stops the other trials */ }
                }
            }
        }) { IsBackground = true, Name = "grid-trial" }).ToArray();
        foreach (var worker in workers) worker.Start();
        foreach (var worker in workers) worker.Join();

        var completed = results.OfType<TrialResult>().ToArray();
        if (run.Cancellation.IsCancellationRequested)
        {
            foreach (var result in completed) result.Training.Model.Dispose();
            run.Cancellation.ThrowIfCancellationRequested();
        }
        // Nothing to pick from: the first failure is the answer (an invalid setting stays an InvalidInputException).
        if (completed.Length == 0) exceptions.First(e => e is not null)!.Throw();

        var best = completed[0];
        foreach (var candidate in completed.Skip(1))
            if (metric.IsBetter(candidate.Training.BestValidationMetric, best.Training.BestValidationMetric))
                best = candidate;
        foreach (var result in completed)
            if (result != best) result.Training.Model.Dispose();

        TorchSharp.torch.set_num_threads(Math.Max(1, cores));
        var test = Trainer.Predict(best.Training.Model, data.Test, best.Trial.Config.Init.MaxSequenceLength, best.Trial.Config.Training.BatchSize);
        var testScore = data.Test.Count == 0 ? double.NaN : metric.Score(test);
        return new GridSearchResult(completed, best, test, testScore) { Failed = failures.OfType<FailedTrial>().ToArray() };
    }

    /// <summary>The exception's type and message on one line (native errors carry a whole libtorch backtrace).</summary>
    private static string OneLine(Exception e)
    {
        var message = e.Message.Split('\n', 2)[0].Trim();
        return e is Core.InvalidInputException ? message : $"{e.GetType().Name}: {message}";
    }
}
