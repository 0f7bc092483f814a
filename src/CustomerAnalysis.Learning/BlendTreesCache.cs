using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Baselines;
using CustomerAnalysis.Modeling.Checkpoints;

namespace CustomerAnalysis.Learning;

/// <summary>
/// The trees of <c>combine_with_trees: "blend"</c>, fitted once per prepared dataset and trees options and shared by
/// the trials that blend with them: the trees depend on the dataset, the time-gaps and signals settings and the
/// config's seed only, not on the network's hyperparameters a grid varies. Keyed by the dataset instance (a worker's
/// trials of one run get the same one from its dataset cache), held no longer than the dataset. Trials running side
/// by side wait for one fit and then score with the same trees (an ML.NET transformer is safe to share across
/// threads); a fit that fails fails the same way for every trial (it is deterministic).
/// </summary>
public sealed class BlendTreesCache
{
    private readonly ConditionalWeakTable<PreparedDataset, ConcurrentDictionary<GradientBoostedTreesOptions, Lazy<BlendTrees>>> _byDataset = new();
    private int _fits;

    /// <summary>How many times trees were fitted (not taken from the cache).</summary>
    public int Fits => Volatile.Read(ref _fits);

    public BlendTrees GetOrFit(PreparedDataset data, GradientBoostedTreesOptions options) =>
        _byDataset.GetValue(data, _ => new()).GetOrAdd(options, o => new Lazy<BlendTrees>(() =>
        {
            Interlocked.Increment(ref _fits);
            return BlendTrees.Fit(data, o);
        })).Value;
}
