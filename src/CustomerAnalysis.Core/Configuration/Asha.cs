using System.Collections.Concurrent;

namespace CustomerAnalysis.Core.Configuration;

/// <summary>
/// Where the trials of one search (a run, or one <c>ca train</c>) record their validation score at each rung, shared
/// by every trial wherever it runs: in memory for <c>ca train</c>, Table storage for the pipeline's trial workers.
/// </summary>
public interface IRungBoard
{
    /// <summary>Records <paramref name="trialId"/>'s score at the rung (a repeat replaces it: a retried trial counts
    /// once) and returns every score recorded at that rung so far, its own included.</summary>
    Task<IReadOnlyList<double>> ReportAsync(string searchId, int rungEpoch, string trialId, double score,
        CancellationToken cancellationToken);
}

/// <summary>The rung board of one process (<c>ca train</c>'s grid search, tests).</summary>
public sealed class InMemoryRungBoard : IRungBoard
{
    private readonly ConcurrentDictionary<(string Search, int Rung), ConcurrentDictionary<string, double>> _rungs = new();

    public Task<IReadOnlyList<double>> ReportAsync(string searchId, int rungEpoch, string trialId, double score,
        CancellationToken cancellationToken)
    {
        var rung = _rungs.GetOrAdd((searchId, rungEpoch), _ => new ConcurrentDictionary<string, double>(StringComparer.Ordinal));
        lock (rung)
        {
            rung[trialId] = score;
            return Task.FromResult<IReadOnlyList<double>>(rung.Values.ToArray());
        }
    }
}

/// <summary>
/// Asynchronous successive halving (ASHA, Li et al. 2020), as a stopping rule: at each rung epoch
/// (<c>asha_min_epochs·η^k</c>, below <c>num_epochs</c>) a trial records its best validation score so far and goes on
/// only if it is among the top ⌊n/η⌋ (at least one) of the n trials that have reached the rung. No trial waits for
/// another, so the trials still run as independent work items; the first to reach a rung always goes on (nothing to
/// compare with), later ones must beat the earlier ones' quantile. Weak trials stop after a few epochs and a larger
/// space costs about the same time.
/// </summary>
public static class Asha
{
    /// <summary>The rung epochs of a config (empty unless <c>search</c> is asha).</summary>
    public static IReadOnlyList<int> Rungs(NnConfig config)
    {
        var pipeline = config.Pipeline;
        var rungs = new List<int>();
        if (pipeline.Search != SearchKind.Asha) return rungs;
        for (long epoch = pipeline.AshaMinEpochs; epoch < config.Training.NumEpochs; epoch *= pipeline.AshaReductionFactor)
            rungs.Add((int)epoch);
        return rungs;
    }

    /// <summary>Whether a trial with <paramref name="score"/> goes on past a rung where <paramref name="scores"/>
    /// (its own included) were recorded. An undefined score (NaN) ranks last.</summary>
    public static bool GoesOn(IReadOnlyList<double> scores, double score, bool higherIsBetter, int reductionFactor)
    {
        var keep = Math.Max(1, scores.Count / reductionFactor);
        if (double.IsNaN(score)) return scores.Count(s => !double.IsNaN(s)) < keep;
        var better = scores.Count(s => !double.IsNaN(s) && (higherIsBetter ? s > score : s < score));
        return better < keep;
    }

    /// <summary>
    /// The per-epoch check a trainer calls with the epoch and the trial's best score so far: false means stop now.
    /// Null when the config does not use asha. Blocks on the board (it is called on the trial's training thread).
    /// </summary>
    public static Func<int, double, bool>? Stopper(NnConfig config, IRungBoard board, string searchId, string trialId,
        bool higherIsBetter, CancellationToken cancellationToken)
    {
        var rungs = Asha.Rungs(config);
        if (rungs.Count == 0) return null;
        var reductionFactor = config.Pipeline.AshaReductionFactor;
        return (epoch, best) =>
        {
            if (!rungs.Contains(epoch)) return true;
            var scores = board.ReportAsync(searchId, epoch, trialId, best, cancellationToken).GetAwaiter().GetResult();
            return GoesOn(scores, best, higherIsBetter, reductionFactor);
        };
    }
}
