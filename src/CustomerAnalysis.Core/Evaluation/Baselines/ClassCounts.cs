using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation.Baselines;

/// <summary>
/// Label counts turned into add-k (Laplace when k = 1) smoothed probabilities:
/// P(c) = (count(c) + k) / (total + k · number of possible classes). Classes below <c>firstClass</c> (the
/// &lt;PAD&gt; token for next events: never a label) get probability 0 and no smoothing mass.
/// </summary>
internal sealed class ClassCounts(int classCount, int firstClass)
{
    private readonly long[] _counts = new long[classCount];

    public long Total { get; private set; }

    public void Add(int label)
    {
        _counts[label]++;
        Total++;
    }

    public void WriteProbabilities(Span<float> destination, double smoothing)
    {
        var denominator = Total + smoothing * (_counts.Length - firstClass);
        destination[..firstClass].Clear();
        for (var c = firstClass; c < _counts.Length; c++)
            destination[c] = (float)((_counts[c] + smoothing) / denominator);
    }

    public double Probability(int label, double smoothing) =>
        (_counts[label] + smoothing) / (Total + smoothing * (_counts.Length - firstClass));

    /// <summary>Checks a label or token id against the class count, naming the example on failure.</summary>
    public static void CheckId(int id, int classCount, SequenceExample example, string what)
    {
        if ((uint)id >= (uint)classCount)
            throw new InvalidInputException(
                $"Example '{example.Id}' has {what} {id}, outside the vocabulary (0..{classCount - 1}).");
    }
}
