using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation.Baselines;

/// <summary>A next-event baseline fitted on a training split; scores any split like a model does.</summary>
public interface INextEventBaseline
{
    /// <summary>Stable snake_case name used as the report key (e.g. <c>markov_order1</c>).</summary>
    string Name { get; }

    /// <summary>Row-major [example × class] probabilities, ready for <see cref="NextEventMetrics.Compute(int[], ReadOnlySpan{float}, IReadOnlyList{string})"/>.</summary>
    float[] PredictScores(IReadOnlyList<SequenceExample> examples);
}

/// <summary>A churn baseline fitted on a training split; scores any split like a model does.</summary>
public interface IChurnBaseline
{
    /// <summary>Stable snake_case name used as the report key (e.g. <c>logistic_regression</c>).</summary>
    string Name { get; }

    /// <summary>Probability of churn per example, ready for <see cref="ChurnMetrics.Compute"/>.</summary>
    double[] PredictChurnProbabilities(IReadOnlyList<SequenceExample> examples);
}
