using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Serving.Scoring;

/// <summary><see cref="IBatchScorer"/> over <see cref="CheckpointScorer"/>: keeps the last checkpoint loaded (a run
/// scores every shard with one model), and scores one shard at a time (one torch thread each: the host's activity
/// slots are the parallelism).</summary>
public sealed class TorchBatchScorer : IBatchScorer, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Path, DateTime Written, CheckpointScorer Scorer)? _loaded;

    public async Task<PredictionTask> TaskOfAsync(string checkpointPath, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try { return Load(checkpointPath).Checkpoint.Task; }
        finally { _gate.Release(); }
    }

    public async Task<Core.Events.SignalSet> SignalsOfAsync(string checkpointPath, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try { return Load(checkpointPath).Checkpoint.Model.Signals?.Set ?? Core.Events.SignalSet.None; }
        finally { _gate.Release(); }
    }

    public async Task<IReadOnlyList<UserScore>> ScoreAsync(string checkpointPath, ScoringShard shard,
        IReadOnlyList<int> members, int top, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try { return Load(checkpointPath).Score(shard, members, top); }
        finally { _gate.Release(); }
    }

    private CheckpointScorer Load(string path)
    {
        var written = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : default;
        if (_loaded is { } loaded && loaded.Path == path && loaded.Written == written) return loaded.Scorer;
        var scorer = new CheckpointScorer(ModelCheckpoint.Read(path));
        _loaded?.Scorer.Dispose();
        _loaded = (path, written, scorer);
        return scorer;
    }

    public void Dispose()
    {
        _loaded?.Scorer.Dispose();
        _gate.Dispose();
    }
}

public static class BatchScoringServices
{
    /// <summary>The TorchSharp batch scorer behind scoring runs.</summary>
    public static IServiceCollection AddTorchBatchScoring(this IServiceCollection services) =>
        services.AddSingleton<IBatchScorer, TorchBatchScorer>();
}
