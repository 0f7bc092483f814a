using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation.Baselines;

/// <summary>
/// Ignores the input: every example gets the training split's (add-k smoothed) label distribution. Its top-1
/// prediction is the most frequent training label (ties → lower id); for churn the probability is the training churn
/// rate, so at threshold 0.5 it predicts the majority label and its ROC-AUC is exactly 0.5.
/// </summary>
public sealed class MajorityClassBaseline : INextEventBaseline, IChurnBaseline
{
    public const string BaselineName = "majority_class";

    private readonly float[] _probabilities;

    private MajorityClassBaseline(float[] probabilities) => _probabilities = probabilities;

    public string Name => BaselineName;

    /// <summary>The fitted distribution over class ids.</summary>
    public IReadOnlyList<float> ClassProbabilities => _probabilities;

    /// <summary>Next event: classes are vocabulary tokens; &lt;PAD&gt; (never a label) gets probability 0.</summary>
    public static MajorityClassBaseline FitNextEvent(
        IReadOnlyList<SequenceExample> train, int vocabularySize, double smoothing = 1.0) =>
        Fit(train, vocabularySize, firstClass: Vocabulary.Pad + 1, smoothing);

    /// <summary>Churn: classes 0 (returned) and 1 (churned).</summary>
    public static MajorityClassBaseline FitChurn(IReadOnlyList<SequenceExample> train, double smoothing = 1.0) =>
        Fit(train, classCount: 2, firstClass: 0, smoothing);

    public float[] PredictScores(IReadOnlyList<SequenceExample> examples)
    {
        var scores = new float[examples.Count * _probabilities.Length];
        for (var i = 0; i < examples.Count; i++)
            _probabilities.CopyTo(scores, i * _probabilities.Length);
        return scores;
    }

    public double[] PredictChurnProbabilities(IReadOnlyList<SequenceExample> examples)
    {
        if (_probabilities.Length != 2)
            throw new InvalidOperationException("This baseline was fitted for next events, not churn (use FitChurn).");
        return Enumerable.Repeat((double)_probabilities[1], examples.Count).ToArray();
    }

    private static MajorityClassBaseline Fit(
        IReadOnlyList<SequenceExample> train, int classCount, int firstClass, double smoothing)
    {
        BaselineChecks.RequireTraining(train, smoothing);
        var counts = new ClassCounts(classCount, firstClass);
        foreach (var example in train)
        {
            ClassCounts.CheckId(example.Label, classCount, example, "label");
            counts.Add(example.Label);
        }
        var probabilities = new float[classCount];
        counts.WriteProbabilities(probabilities, smoothing);
        return new MajorityClassBaseline(probabilities);
    }
}

internal static class BaselineChecks
{
    public static void RequireTraining(IReadOnlyList<SequenceExample> train, double smoothing)
    {
        if (train.Count == 0)
            throw new InvalidInputException("A baseline needs at least one training example; the training split is empty.");
        if (!(smoothing >= 0) || double.IsInfinity(smoothing))
            throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "Smoothing must be a finite number ≥ 0.");
    }
}
