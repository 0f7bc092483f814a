using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>One trial's history: a value per epoch (epoch 1 first).</summary>
public sealed record TrialHistory(
    string TrialName, double[] TrainLoss, double[] ValidationLoss, string MetricName, double[] ValidationMetric);

/// <summary>One trial's training curves: train and validation loss (left axis) and the validation metric (right).</summary>
public static class TrainingCurves
{
    public static SavedPlot Save(string path, TrialHistory trial)
    {
        var epochs = trial.TrainLoss.Length;
        if (epochs == 0)
            throw new ArgumentException($"Trial '{trial.TrialName}' has no epochs.", nameof(trial));
        if (trial.ValidationLoss.Length != epochs || trial.ValidationMetric.Length != epochs)
            throw new ArgumentException(
                $"Trial '{trial.TrialName}': {epochs} train losses, {trial.ValidationLoss.Length} validation losses, " +
                $"{trial.ValidationMetric.Length} metric values; one of each per epoch.", nameof(trial));

        var plot = new Plot();
        var epochNumbers = Enumerable.Range(1, epochs).Select(e => (double)e).ToArray();

        var train = plot.Add.Scatter(epochNumbers, trial.TrainLoss);
        train.LegendText = "train loss";
        var validation = plot.Add.Scatter(epochNumbers, trial.ValidationLoss);
        validation.LegendText = "validation loss";
        var metric = plot.Add.Scatter(epochNumbers, trial.ValidationMetric);
        metric.LegendText = $"validation {trial.MetricName} (right axis)";
        metric.LinePattern = LinePattern.Dashed;
        metric.Axes.YAxis = plot.Axes.Right;

        plot.Axes.Left.Label.Text = "loss";
        plot.Axes.Right.Label.Text = trial.MetricName;
        plot.XLabel("epoch");
        plot.Title($"Training curves: {trial.TrialName}");
        // Whole epochs only; past 20 the automatic ticks stay readable.
        if (epochs <= 20)
            plot.Axes.Bottom.TickGenerator = PlotFile.Ticks(Enumerable.Range(0, epochs + 1).Select(e => e.ToString()).ToArray());
        // Below the axes, where it cannot cover a curve.
        plot.ShowLegend(Edge.Bottom);
        return PlotFile.SavePng(plot, path, 800, 500);
    }
}
