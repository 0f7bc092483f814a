namespace CustomerAnalysis.Core.Evaluation;

/// <summary>What every evaluation report has: how many examples it scored and its named scalar metrics.</summary>
public interface IEvaluationReport
{
    /// <summary>Examples scored.</summary>
    int Count { get; }

    /// <summary>Metric name (see <see cref="MetricNames"/>) → value, in a stable order. NaN = undefined on this data.</summary>
    IReadOnlyDictionary<string, double> Scalars { get; }
}
