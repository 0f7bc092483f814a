namespace CustomerAnalysis.Core.Evaluation;

/// <summary>Precision, recall and F1 of one class (one-vs-rest on the top-1 predictions).</summary>
/// <param name="Support">Examples whose label is this class.</param>
/// <param name="Predicted">Examples whose top-1 prediction is this class.</param>
public sealed record ClassMetrics(
    int ClassId, string Name, int Support, int Predicted, double Precision, double Recall, double F1);

/// <summary>
/// Counts of (true class, top-1 predicted class) over the classes a report covers (those in the labels or the
/// predictions). <c>Counts[i][j]</c> = examples of class <c>ClassIds[i]</c> predicted as <c>ClassIds[j]</c>.
/// </summary>
public sealed record ConfusionMatrix(IReadOnlyList<int> ClassIds, IReadOnlyList<string> ClassNames, int[][] Counts);

/// <summary>
/// Next-event metrics of one model or baseline on one split. <see cref="Scalars"/> holds, in this order:
/// top1_accuracy, top3_accuracy, mrr, macro_precision/recall/f1, micro_precision/recall/f1, then accuracy (= top1),
/// precision/recall/f1 (= macro) so the original four metric names mean the same for both tasks.
/// </summary>
public sealed record NextEventReport(
    int Count,
    IReadOnlyDictionary<string, double> Scalars,
    IReadOnlyList<ClassMetrics> PerClass,
    ConfusionMatrix ConfusionMatrix,
    int[] PredictedClasses) : IEvaluationReport;
