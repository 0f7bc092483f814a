using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>Batch inference for scoring runs (adapter: CustomerAnalysis.Serving's <c>AddTorchBatchScoring</c>, over
/// the model checkpoint directly, length-bucketed batches on one torch thread). Separate from
/// <see cref="IPredictor"/>, which serves one request at a time.</summary>
public interface IBatchScorer
{
    /// <summary>The task of the model in the checkpoint file (loading it once per path).</summary>
    /// <exception cref="Core.InvalidInputException">Not a readable checkpoint.</exception>
    Task<PredictionTask> TaskOfAsync(string checkpointPath, CancellationToken cancellationToken);

    /// <summary>The GA4 signals the model in the checkpoint file reads (<c>use_signals</c>; empty for a names-only
    /// model): what the candidates must be read with.</summary>
    /// <exception cref="Core.InvalidInputException">Not a readable checkpoint.</exception>
    Task<Core.Events.SignalSet> SignalsOfAsync(string checkpointPath, CancellationToken cancellationToken);

    /// <summary>Scores the shard's sequences at <paramref name="members"/> (indexes), in that order.</summary>
    /// <param name="top">Next event: events listed per user.</param>
    /// <exception cref="Core.InvalidInputException">The shard is of the other task, or not a readable checkpoint.</exception>
    Task<IReadOnlyList<UserScore>> ScoreAsync(string checkpointPath, ScoringShard shard, IReadOnlyList<int> members,
        int top, CancellationToken cancellationToken);
}

/// <summary>Reads one user shard of a source (as <see cref="IShardPreparer"/> does for training) and finds its scoring
/// candidates. Default: <see cref="Scoring.ExportScoringShardReader"/>, over Ingestion.</summary>
public interface IScoringShardReader
{
    Task<ScoringShard> ReadAsync(string source, PredictionTask task, PrepareOptions options, Core.Events.UserShard shard,
        CancellationToken cancellationToken);
}
