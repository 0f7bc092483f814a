namespace CustomerAnalysis.Core.Evaluation;

/// <summary>
/// Churn metrics of one model or baseline on one split. <see cref="Scalars"/> holds, in this order: accuracy,
/// precision, recall, f1 (at <see cref="Threshold"/>), roc_auc, pr_auc, log_loss, brier.
/// Churned (label 1) is the positive class.
/// </summary>
public sealed record ChurnReport(
    int Count,
    double Threshold,
    IReadOnlyDictionary<string, double> Scalars,
    int TruePositives,
    int FalsePositives,
    int TrueNegatives,
    int FalseNegatives) : IEvaluationReport;

/// <summary>One point of a ROC curve: the rates when every probability ≥ <see cref="Threshold"/> counts as churn.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);
