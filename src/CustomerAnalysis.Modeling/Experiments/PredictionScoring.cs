using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>
/// Turns a model's <see cref="PredictionSet"/> into Core's evaluation reports, and <c>grid_search_metric</c> into the
/// trainer's <see cref="ValidationMetric"/>, so the metric names and functions are Core's (one source of truth).
/// </summary>
public static class PredictionScoring
{
    /// <summary>The full report of <paramref name="predictions"/>: a <see cref="NextEventReport"/> (events) or a
    /// <see cref="ChurnReport"/> (churn, positive at <paramref name="churnThreshold"/>).</summary>
    /// <param name="classNames">Events: a name per class (the vocabulary's tokens); ignored for churn.</param>
    public static IEvaluationReport Report(PredictionSet predictions, PredictionTask task, IReadOnlyList<string> classNames, double churnThreshold)
    {
        if (predictions.Count == 0) throw new InvalidInputException("There are no predictions to score (the split is empty).");
        if (task == PredictionTask.Events)
        {
            if (predictions.Classes != classNames.Count)
                throw new ArgumentException($"{predictions.Classes} classes predicted but {classNames.Count} class names.", nameof(classNames));
            return NextEventMetrics.Compute(predictions.Labels, predictions.Probabilities, classNames);
        }
        if (predictions.Classes != 1)
            throw new ArgumentException($"Churn predictions have one probability per example, not {predictions.Classes}.", nameof(predictions));
        return ChurnMetrics.Compute(predictions.Labels, ChurnProbabilities(predictions), churnThreshold);
    }

    /// <summary>Churn predictions as doubles (what Core's churn metrics take).</summary>
    public static double[] ChurnProbabilities(PredictionSet predictions) => predictions.Probabilities.Select(p => (double)p).ToArray();

    /// <summary>The metric <c>pipeline_params.grid_search_metric</c> names, for the config's task and churn threshold.</summary>
    public static ValidationMetric ValidationMetricFor(NnConfig config) =>
        ValidationMetricFor(config.Pipeline.GridSearchMetric, config.Training.Task, config.Pipeline.ProbThreshold);

    /// <summary>
    /// A validation metric computed by Core's metric code. <paramref name="name"/> is checked with
    /// <see cref="MetricNames.Validate"/>: a name the task's reports do not hold is an <see cref="InvalidInputException"/>.
    /// </summary>
    public static ValidationMetric ValidationMetricFor(string name, PredictionTask task, double churnThreshold)
    {
        MetricNames.Validate(name, task);
        return new ValidationMetric(name, predictions =>
        {
            if (predictions.Count == 0) return double.NaN;
            // Only the scalars are read here: placeholder class names suffice (they label per-class rows).
            var classNames = task == PredictionTask.Events ? ClassIds(predictions.Classes) : [];
            return Report(predictions, task, classNames, churnThreshold).Scalars[name];
        }, MetricNames.HigherIsBetter(name));
    }

    private static string[] ClassIds(int count) => Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
