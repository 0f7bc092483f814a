using System.Text.Json;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;

namespace CustomerAnalysis.Pipeline.Training;

// The pipeline's ports: what it needs from data preparation, training, evaluation and serving. They carry their own
// records (and Core's plain data types), never the training code's: the orchestration, the activities and the
// Functions app compile without TorchSharp. Adapters: ExportDatasetPreparer (here, over Ingestion),
// CustomerAnalysis.Learning (TorchSharp trials and evaluation, run by the trial workers) and
// CustomerAnalysis.Serving (the TorchSharp predictor behind the HTTP routes).

/// <summary>Reads a source (a local path or folder that <c>ca prepare --input</c> accepts) into a prepared dataset.
/// Sources of the form <c>blob://container/prefix</c> are downloaded to a local folder first.</summary>
public interface IDatasetPreparer
{
    Task<PreparedDataset> PrepareAsync(string source, PredictionTask task, PrepareOptions options,
        CancellationToken cancellationToken);

    /// <summary>Checks at submit what can be checked of a source this preparer reads (syntax, that local files exist
    /// and look like an export), so that a source that can never work is refused before the run starts.
    /// <c>blob://</c> sources are checked by <see cref="TrainingSources"/> before they get here.</summary>
    /// <exception cref="Core.InvalidInputException">The source cannot work.</exception>
    void CheckSource(string source);
}

/// <summary>Reads the users of one shard of a source (every row is read, only the shard's kept) and prepares their part
/// of the dataset (<see cref="DatasetPreparer.PrepareShard"/>); the parts are merged with
/// <see cref="DatasetPreparer.Merge"/>. Sources as for <see cref="IDatasetPreparer"/>.</summary>
public interface IShardPreparer
{
    Task<PreparedShard> PrepareShardAsync(string source, PredictionTask task, PrepareOptions options,
        Core.Events.UserShard shard, CancellationToken cancellationToken);
}

/// <summary>What one grid-search trial gets.</summary>
/// <param name="ModelConfig">The run's full model config (NnConfig JSON, grid included).</param>
/// <param name="Params">The grid point: setting name → value (applied on top of <paramref name="ModelConfig"/>).</param>
/// <param name="Seed">The trial's seed (the config's seed + the trial's grid index).</param>
/// <param name="CheckpointPath">Where the runner writes the trained model (one file).</param>
/// <param name="PlotsDirectory">Where the runner may write plots and attention exports (uploaded with the trial).</param>
/// <param name="OnEpoch">Called after each epoch (the worker records it, so progress is visible while it trains).</param>
public sealed record TrialRequest(
    string RunId,
    string TrialId,
    PreparedDataset Dataset,
    string ModelConfig,
    IReadOnlyDictionary<string, JsonElement> Params,
    int Seed,
    string CheckpointPath,
    string PlotsDirectory,
    Action<EpochMetrics>? OnEpoch = null)
{
    /// <summary>The run's rung record (asha: each trial reports its score at the rungs there and is stopped when weak);
    /// null: none, the trial runs to its end.</summary>
    public Core.Configuration.IRungBoard? Rungs { get; init; }
}

/// <param name="Epochs">Per-epoch metrics (e.g. loss, val_accuracy).</param>
/// <param name="ValidationMetrics">Final metrics on the validation split; trials are ranked on one of them.</param>
public sealed record TrialResult(
    IReadOnlyList<EpochMetrics> Epochs,
    IReadOnlyDictionary<string, double> ValidationMetrics)
{
    /// <summary>The rung epoch at which the search (asha) stopped the trial for being weak; null: it was not.</summary>
    public int? StoppedAtEpoch { get; init; }
}

/// <summary>Trains one grid point (on a trial worker).</summary>
public interface ITrialRunner
{
    Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken);
}

/// <param name="TestMetrics">The model's metrics on the test split.</param>
/// <param name="Baselines">Baseline name → its metrics on the same test split.</param>
public sealed record EvaluationResult(
    IReadOnlyDictionary<string, double> TestMetrics,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Baselines);

/// <summary>Scores a checkpoint on a dataset's test split (on a trial worker). Champion and challenger are both
/// scored with it on the same run's split, so the evaluator must map event names through each checkpoint's own
/// vocabulary.</summary>
public interface IEvaluator
{
    /// <param name="artifactsDirectory">Where to write evaluation plots (confusion matrix, ROC, attention) and
    /// metrics.json, uploaded with the run's evaluation; null: none.</param>
    Task<EvaluationResult> EvaluateAsync(PreparedDataset dataset, string checkpointPath, string? artifactsDirectory,
        CancellationToken cancellationToken);

    /// <summary>The model's test metrics only, as <see cref="EvaluateAsync"/> computes them but without the baselines
    /// or plots: how the production champion is scored (its baselines would be the challenger's, thrown away).</summary>
    Task<IReadOnlyDictionary<string, double>> ScoreModelAsync(PreparedDataset dataset, string checkpointPath,
        CancellationToken cancellationToken);
}

/// <summary>An input event: its name and, when known, its time (models may use the gaps) and its raw GA4 signal
/// values (a model trained with signals uses them; null: all missing).</summary>
public sealed record InputEvent(string Name, DateTimeOffset? Timestamp, Core.Preparation.EventSignalValues? Signals = null);

/// <param name="Top">Most likely next events, most likely first.</param>
/// <param name="Attention">One weight per input event, aligned with the input.</param>
public sealed record NextEventPrediction(IReadOnlyList<EventProbability> Top, IReadOnlyList<double> Attention);

/// <summary>A user's churn probability and the model's attention over the input events (one weight each).</summary>
public sealed record ChurnPrediction(double Probability, IReadOnlyList<double> Attention);

/// <summary>A loaded model. Must be safe to call from many requests at once. The HTTP routes call the async methods,
/// which a predictor may answer from a forward pass shared with concurrent calls (dynamic batching); the results are
/// those of a call made alone.</summary>
public interface IPredictor : IDisposable
{
    PredictionTask Task { get; }

    /// <summary>Churn: the probability at or above which a user is labelled churned (the model config's
    /// <c>prob_threshold</c>).</summary>
    double ChurnThreshold { get; }

    /// <exception cref="NotSupportedException">The model is not an events model.</exception>
    IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top);

    /// <summary>The GA4 signals the model reads from each input event (<c>use_signals</c>); empty for a names-only
    /// model, which ignores any it is sent.</summary>
    Core.Events.SignalSet Signals => Core.Events.SignalSet.None;

    /// <summary>Whether the model's vocabulary has this event name; an unknown one is read as <c>&lt;UNK&gt;</c>. A
    /// predictor that cannot tell says it knows every name.</summary>
    bool KnowsEvent(string eventName) => true;

    /// <summary>Churn probability and attention per user.</summary>
    /// <exception cref="NotSupportedException">The model is not a churn model.</exception>
    IReadOnlyList<ChurnPrediction> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users);

    /// <summary><see cref="PredictNextEvent"/>, awaiting a shared pass instead of blocking a thread on one.</summary>
    Task<IReadOnlyList<NextEventPrediction>> PredictNextEventAsync(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top) =>
        System.Threading.Tasks.Task.FromResult(PredictNextEvent(sessions, top));

    /// <summary><see cref="PredictChurn"/>, awaiting a shared pass instead of blocking a thread on one.</summary>
    Task<IReadOnlyList<ChurnPrediction>> PredictChurnAsync(IReadOnlyList<IReadOnlyList<InputEvent>> users) =>
        System.Threading.Tasks.Task.FromResult(PredictChurn(users));
}

public interface IModelLoader
{
    Task<IPredictor> LoadAsync(string checkpointPath, CancellationToken cancellationToken);
}
