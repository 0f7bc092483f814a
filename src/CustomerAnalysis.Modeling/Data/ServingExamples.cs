using System.Globalization;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Modeling.Data;

/// <summary>
/// Raw serving inputs (what the predictor and the batch scorer hold) as the <see cref="SequenceExample"/>s that
/// evaluation reads: the one path by which the trees blend and a wide-and-deep model's aggregates see a served input,
/// so served features are computed exactly as evaluated ones.
/// </summary>
public static class ServingExamples
{
    /// <param name="tokens">Per input its tokens in the model's vocabulary.</param>
    /// <param name="gapSeconds">Per input its gap seconds (0 first), or null for a names-only model (all 0: its
    /// features never read them).</param>
    /// <param name="signals">A signals model's encoded signals per input; null otherwise.</param>
    public static SequenceExample[] FromInputs(IReadOnlyList<IReadOnlyList<int>> tokens, IReadOnlyList<IReadOnlyList<float>>? gapSeconds,
        IReadOnlyList<ExampleSignals>? signals = null) =>
        tokens.Select((t, b) => new SequenceExample(
            b.ToString(CultureInfo.InvariantCulture), "", t.ToArray(), gapSeconds?[b].ToArray() ?? new float[t.Count], 0,
            signals?[b])).ToArray();
}
