using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation.Baselines;

/// <summary>
/// The baselines every report shows next to the model: fitted on the training split, scored on the split the model
/// is scored on, by the same metric code.
/// <list type="bullet">
/// <item>Events: <c>majority_class</c>, <c>markov_order1</c>, <c>markov_order2</c> (backing off to order 1, then
/// to the label distribution).</item>
/// <item>Churn: <c>majority_class</c>, <c>logistic_regression</c> (event counts + length).</item>
/// </list>
/// Baselines that need heavy packages (Modeling's gradient-boosted trees) are fitted by their own project and passed
/// in as <c>extra</c>: they are scored by the same code and listed after these.
/// </summary>
public static class BaselineSuite
{
    /// <summary>Fits every baseline on <paramref name="dataset"/>'s training split and scores it on
    /// <paramref name="evaluation"/> (pass <c>dataset.Validation</c> or <c>dataset.Test</c>).</summary>
    public static IReadOnlyDictionary<string, IEvaluationReport> Evaluate(
        PreparedDataset dataset, IReadOnlyList<SequenceExample> evaluation, double churnThreshold = 0.5) =>
        Evaluate(dataset.Train, evaluation, dataset.Vocabulary, dataset.Task, churnThreshold);

    /// <returns>Baseline name → report: the suite's own, then <paramref name="extraNextEvent"/> (events) or
    /// <paramref name="extraChurn"/> (churn), already fitted.</returns>

    /// <returns>Baseline name → report, in the order listed in the class summary.</returns>
    public static IReadOnlyDictionary<string, IEvaluationReport> Evaluate(
        IReadOnlyList<SequenceExample> train,
        IReadOnlyList<SequenceExample> evaluation,
        Vocabulary vocabulary,
        PredictionTask task,
        double churnThreshold = 0.5,
        IReadOnlyList<INextEventBaseline>? extraNextEvent = null,
        IReadOnlyList<IChurnBaseline>? extraChurn = null)
    {
        if (evaluation.Count == 0)
            throw new InvalidInputException("The evaluation split is empty: there is nothing to score the baselines on.");
        var labels = evaluation.Select(e => e.Label).ToArray();
        var reports = new Dictionary<string, IEvaluationReport>();
        if (task == PredictionTask.Events)
        {
            foreach (var baseline in FitNextEvent(train, vocabulary.Count, extraNextEvent))
                reports[baseline.Name] = NextEventMetrics.Compute(labels, baseline.PredictScores(evaluation), vocabulary.Tokens);
        }
        else
        {
            foreach (var baseline in FitChurn(train, vocabulary.Count, extraChurn))
                reports[baseline.Name] = ChurnMetrics.Compute(labels, baseline.PredictChurnProbabilities(evaluation), churnThreshold);
        }
        return reports;
    }

    /// <summary>The fitted next-event baselines, e.g. to plot or export their predictions.</summary>
    /// <param name="extra">Baselines fitted elsewhere (on the same training split), listed after the suite's own.</param>
    public static IReadOnlyList<INextEventBaseline> FitNextEvent(IReadOnlyList<SequenceExample> train, int vocabularySize,
        IReadOnlyList<INextEventBaseline>? extra = null) =>
    [
        MajorityClassBaseline.FitNextEvent(train, vocabularySize),
        MarkovBaseline.Fit(train, vocabularySize, order: 1),
        MarkovBaseline.Fit(train, vocabularySize, order: 2),
        .. Distinct(extra ?? []),
    ];

    /// <summary>The fitted churn baselines, e.g. to draw their ROC curves next to the model's.</summary>
    /// <param name="extra">Baselines fitted elsewhere (on the same training split), listed after the suite's own.</param>
    public static IReadOnlyList<IChurnBaseline> FitChurn(IReadOnlyList<SequenceExample> train, int vocabularySize,
        IReadOnlyList<IChurnBaseline>? extra = null) =>
    [
        MajorityClassBaseline.FitChurn(train),
        LogisticRegressionBaseline.Fit(train, vocabularySize),
        .. Distinct(extra ?? []),
    ];

    private static readonly string[] OwnNames =
        [MajorityClassBaseline.BaselineName, LogisticRegressionBaseline.BaselineName, "markov_order1", "markov_order2"];

    /// <summary>Report keys are names: an extra baseline may not reuse one.</summary>
    private static IReadOnlyList<T> Distinct<T>(IReadOnlyList<T> extra) where T : class
    {
        var names = extra.Select(b => b switch
        {
            INextEventBaseline e => e.Name,
            IChurnBaseline c => c.Name,
            _ => throw new ArgumentException("Not a baseline.", nameof(extra)),
        }).ToArray();
        var clash = names.Concat(OwnNames).GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new ArgumentException($"Two baselines are named '{clash.Key}'.", nameof(extra));
        return extra;
    }
}
