using CustomerAnalysis.Core.Evaluation;
using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>
/// Reliability diagram of churn probabilities: per bin (<see cref="ChurnMetrics.Reliability"/>), the observed churn
/// rate against the mean predicted probability, one line per model or baseline, with each one's expected calibration
/// error and its bootstrap interval in the legend. On the diagonal = calibrated. The model's line is what it serves:
/// its probabilities after the checkpoint's calibration (<c>pipeline_params.churn_calibration</c>).
/// </summary>
public static class ReliabilityPlot
{
    public static SavedPlot Save(string path, IReadOnlyList<RocSeries> series, string title = "Reliability (churn)")
    {
        if (series.Count == 0)
            throw new ArgumentException("No probabilities to draw.", nameof(series));

        var plot = new Plot();
        var ideal = plot.Add.Line(0, 0, 1, 1);
        ideal.LinePattern = LinePattern.Dashed;
        ideal.Color = Colors.Gray;
        ideal.LegendText = "calibrated";

        foreach (var (curve, index) in series.Select((s, i) => (s, i)))
        {
            var bins = ChurnMetrics.Reliability(curve.Labels, curve.Probabilities);
            var line = plot.Add.Scatter(bins.Select(b => b.MeanProbability).ToArray(), bins.Select(b => b.ChurnRate).ToArray());
            // The interval says how much of the ECE is this split's size (a few hundred users) rather than the model.
            var (low, high) = CalibrationError.BootstrapInterval(curve.Labels, curve.Probabilities,
                (l, p) => ChurnMetrics.ExpectedCalibrationError(l, p), resamples: 200);
            line.LegendText = System.FormattableString.Invariant(
                $"{curve.Name} (ECE {ChurnMetrics.ExpectedCalibrationError(curve.Labels, curve.Probabilities):0.000}, 95% {low:0.000}-{high:0.000})");
            line.Color = Colors.Category10[index % Colors.Category10.Length];
            line.MarkerSize = 6;
            line.LineWidth = 2;
        }

        plot.Axes.SetLimits(-0.01, 1.01, -0.01, 1.01);
        plot.XLabel("mean predicted churn probability (bin)");
        plot.YLabel("observed churn rate (bin)");
        plot.Title(title);
        plot.ShowLegend(Alignment.UpperLeft);
        return PlotFile.SavePng(plot, path, 640, 600);
    }
}
