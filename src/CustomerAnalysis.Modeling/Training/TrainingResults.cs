using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Models;

namespace CustomerAnalysis.Modeling.Training;

/// <summary>
/// A model's predictions for one split as plain arrays, so evaluation code (pure .NET) can score them.
/// </summary>
/// <param name="Classes">Events: the vocabulary size; churn: 1.</param>
/// <param name="Probabilities">Events: [count × classes] row-major next-event probabilities; churn: [count] churn probabilities.</param>
/// <param name="Labels">The true labels (token id, or 1 = churned / 0 = returned), in the split's order.</param>
public sealed record PredictionSet(int Classes, float[] Probabilities, int[] Labels)
{
    public int Count => Labels.Length;

    /// <summary>Events: the probabilities of example <paramref name="index"/> over the vocabulary.</summary>
    public ReadOnlySpan<float> Row(int index) => Probabilities.AsSpan(index * Classes, Classes);
}

/// <summary>
/// The score that drives early stopping and trial selection. The functions themselves (accuracy, F1, ROC-AUC, …)
/// live in the evaluation code; a host maps <c>grid_search_metric</c> to one of them.
/// </summary>
public sealed record ValidationMetric(string Name, Func<PredictionSet, double> Score, bool HigherIsBetter)
{
    /// <summary>Mean negative log-likelihood of the true labels (lower is better); needs no other code.</summary>
    public static ValidationMetric Loss { get; } = new("loss", NegativeLogLikelihood, HigherIsBetter: false);

    public bool IsBetter(double candidate, double incumbent) =>
        !double.IsNaN(candidate) && (double.IsNaN(incumbent) || (HigherIsBetter ? candidate > incumbent : candidate < incumbent));

    private static double NegativeLogLikelihood(PredictionSet predictions)
    {
        const double floor = 1e-12;
        var total = 0.0;
        for (var i = 0; i < predictions.Count; i++)
        {
            var label = predictions.Labels[i];
            double p = predictions.Classes == 1
                ? label == 1 ? predictions.Probabilities[i] : 1 - predictions.Probabilities[i]
                : predictions.Probabilities[i * predictions.Classes + label];
            total -= Math.Log(Math.Max(p, floor));
        }
        return predictions.Count == 0 ? double.NaN : total / predictions.Count;
    }
}

/// <summary>One epoch of training.</summary>
/// <param name="SequencesPerSecond">Training throughput of the epoch (the validation pass not counted).</param>
/// <param name="ValidationMetric">The metric on the held-out users' validation split.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double ValidationLoss, double ValidationMetric, double Seconds, double SequencesPerSecond)
{
    /// <summary>The metric on the val_recent split; NaN when the dataset has none or the selection rule is users (it
    /// is then scored once, for the kept weights). Not in a checkpoint's history (JSON has no NaN; metrics.json has it).</summary>
    [JsonIgnore] public double RecentValidationMetric { get; init; } = double.NaN;
    /// <summary>The score that ranks epochs (<c>validation_selection</c> of the two); NaN when not set.</summary>
    [JsonIgnore] public double SelectionScore { get; init; } = double.NaN;
}

/// <summary>What training one config produced.</summary>
/// <param name="Model">The model with its best epoch's weights (the caller disposes it).</param>
/// <param name="BestEpoch">1-based epoch whose weights were kept.</param>
/// <param name="BestValidationMetric">The kept epoch's selection score (<c>validation_selection</c> of the validation
/// and val_recent splits; the validation split's metric when the dataset has no val_recent split).</param>
/// <param name="ValidationPredictions">The kept model's predictions on the validation split.</param>
public sealed record TrainingResult(
    NnConfig Config,
    SequenceModel Model,
    IReadOnlyList<EpochRecord> History,
    int BestEpoch,
    double BestValidationMetric,
    PredictionSet ValidationPredictions,
    bool StoppedEarly)
{
    /// <summary>The rung epoch at which the search's scheduler (asha) stopped this trial for being weak; null when it
    /// ran to its end or to early stopping. Such a trial is stopped, not failed: its best epoch's model stands.</summary>
    public int? StoppedAtRung { get; init; }
    /// <summary>The kept model's predictions on the val_recent split; null when the dataset has none.</summary>
    public PredictionSet? RecentValidationPredictions { get; init; }
}
