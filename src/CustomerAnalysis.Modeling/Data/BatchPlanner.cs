namespace CustomerAnalysis.Modeling.Data;

/// <summary>
/// Groups sequences of similar length into batches so each batch is padded only to its own longest sequence
/// (padding every batch to the longest sequence in the data wastes most of the compute on session data).
/// </summary>
public static class BatchPlanner
{
    /// <summary>Sequences shuffled, then sorted by length inside pools of this many batches.</summary>
    private const int BatchesPerPool = 50;

    /// <summary>
    /// Training batches: a shuffled order (seeded by <paramref name="random"/>), sorted by length within pools of
    /// <see cref="BatchesPerPool"/> batches, and the batches themselves in random order. Without shuffling: sorted by length.
    /// </summary>
    public static IReadOnlyList<int[]> TrainingBatches(IReadOnlyList<int> lengths, int batchSize, Random random, bool shuffle)
    {
        if (!shuffle) return EvaluationBatches(lengths, batchSize);
        var order = Enumerable.Range(0, lengths.Count).ToArray();
        random.Shuffle(order);
        var batches = new List<int[]>();
        var poolSize = batchSize * BatchesPerPool;
        for (var start = 0; start < order.Length; start += poolSize)
        {
            var pool = order.AsSpan(start, Math.Min(poolSize, order.Length - start)).ToArray();
            // Stable sort by length: equal lengths keep their shuffled order.
            var sorted = pool.OrderBy(i => lengths[i]).ToArray();
            batches.AddRange(sorted.Chunk(batchSize));
        }
        var shuffled = batches.ToArray();
        random.Shuffle(shuffled);
        return shuffled;
    }

    /// <summary>Evaluation batches: all sequences sorted by length (ties by index), cut into batches.</summary>
    public static IReadOnlyList<int[]> EvaluationBatches(IReadOnlyList<int> lengths, int batchSize) =>
        Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).Chunk(batchSize).ToArray();
}
