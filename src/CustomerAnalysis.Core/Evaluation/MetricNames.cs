using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation;

/// <summary>
/// The metric names a report's <c>Scalars</c> use and <c>grid_search_metric</c> accepts. <c>accuracy</c>,
/// <c>precision</c>, <c>recall</c> and <c>f1</c> (the original project's four) work for both tasks: for next event
/// they mean top-1 accuracy and the macro averages.
/// </summary>
public static class MetricNames
{
    public const string Accuracy = "accuracy";
    public const string Precision = "precision";
    public const string Recall = "recall";
    public const string F1 = "f1";

    public const string Top1Accuracy = "top1_accuracy";
    public const string Top3Accuracy = "top3_accuracy";
    public const string MeanReciprocalRank = "mrr";
    public const string MacroPrecision = "macro_precision";
    public const string MacroRecall = "macro_recall";
    public const string MacroF1 = "macro_f1";
    public const string MicroPrecision = "micro_precision";
    public const string MicroRecall = "micro_recall";
    public const string MicroF1 = "micro_f1";

    public const string RocAuc = "roc_auc";
    public const string PrAuc = "pr_auc";
    public const string LogLoss = "log_loss";
    public const string Brier = "brier";
    /// <summary>Expected calibration error (<see cref="ChurnMetrics.ExpectedCalibrationError"/>).</summary>
    public const string ExpectedCalibrationError = "ece";

    private static readonly string[] NextEventNames =
    [
        Top1Accuracy, Top3Accuracy, MeanReciprocalRank, MacroPrecision, MacroRecall, MacroF1,
        MicroPrecision, MicroRecall, MicroF1, Accuracy, Precision, Recall, F1,
    ];

    private static readonly string[] ChurnNames = [Accuracy, Precision, Recall, F1, RocAuc, PrAuc, LogLoss, Brier, ExpectedCalibrationError];

    /// <summary>Every name a report of <paramref name="task"/> holds, in report order.</summary>
    public static IReadOnlyList<string> For(PredictionTask task) => task switch
    {
        PredictionTask.Events => NextEventNames,
        PredictionTask.Churn => ChurnNames,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown prediction task."),
    };

    /// <summary>
    /// Returns <paramref name="name"/> if <paramref name="task"/>'s reports hold it (exact, snake_case); otherwise
    /// throws <see cref="InvalidInputException"/> listing the allowed names.
    /// </summary>
    public static string Validate(string? name, PredictionTask task)
    {
        var allowed = For(task);
        if (name is not null && allowed.Contains(name, StringComparer.Ordinal))
            return name;
        throw new InvalidInputException(
            $"grid_search_metric '{name}' is not a metric of the {PredictionTasks.Name(task)} task; allowed: {string.Join(", ", allowed)}.");
    }

    /// <summary>The metrics with a defined value: JSON (checkpoint headers, Durable payloads, Table storage) has no NaN
    /// or infinity, so an undefined metric (e.g. ROC-AUC on one class) is left out. Readers treat a missing metric as
    /// NaN (<see cref="IsBetter"/>).</summary>
    public static Dictionary<string, double> Finite(IEnumerable<KeyValuePair<string, double>> metrics) =>
        metrics.Where(m => double.IsFinite(m.Value)).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);

    /// <summary>False for losses and errors (<c>log_loss</c>, <c>brier</c>, <c>ece</c>), true for every other metric.</summary>
    public static bool HigherIsBetter(string name) => name is not (LogLoss or Brier or ExpectedCalibrationError);

    /// <summary>
    /// Whether <paramref name="candidate"/> beats <paramref name="best"/> on metric <paramref name="name"/>. NaN (an
    /// undefined metric, e.g. ROC-AUC on one class) never beats a number, and any number beats NaN.
    /// </summary>
    public static bool IsBetter(string name, double candidate, double best)
    {
        if (double.IsNaN(candidate)) return false;
        if (double.IsNaN(best)) return true;
        return HigherIsBetter(name) ? candidate > best : candidate < best;
    }
}
