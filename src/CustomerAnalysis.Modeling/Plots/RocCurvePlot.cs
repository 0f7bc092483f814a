using CustomerAnalysis.Core.Evaluation;
using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>One curve of a ROC plot: a model's or baseline's churn probabilities on the same examples.</summary>
public sealed record RocSeries(string Name, int[] Labels, double[] Probabilities);

/// <summary>ROC curves of the model and the baselines on one split, with each curve's AUC in the legend.</summary>
public static class RocCurvePlot
{
    public static SavedPlot Save(string path, IReadOnlyList<RocSeries> series, string title = "ROC curve (churn)")
    {
        if (series.Count == 0)
            throw new ArgumentException("No ROC curves to draw.", nameof(series));

        var plot = new Plot();
        var chance = plot.Add.Line(0, 0, 1, 1);
        chance.LinePattern = LinePattern.Dashed;
        chance.Color = Colors.Gray;
        chance.LegendText = "chance (AUC 0.50)";

        foreach (var (curve, index) in series.Select((s, i) => (s, i)))
        {
            var points = ChurnMetrics.RocCurve(curve.Labels, curve.Probabilities);
            if (points.Count == 0)
                throw new ArgumentException($"'{curve.Name}': a ROC curve needs both churned and returned users.", nameof(series));
            var line = plot.Add.Scatter(
                points.Select(p => p.FalsePositiveRate).ToArray(), points.Select(p => p.TruePositiveRate).ToArray());
            line.LegendText = $"{curve.Name} (AUC {ChurnMetrics.RocAuc(curve.Labels, curve.Probabilities):0.000})";
            line.Color = Colors.Category10[index % Colors.Category10.Length];
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }

        // A little margin so curves along the edges are not hidden under the frame.
        plot.Axes.SetLimits(-0.01, 1.01, -0.01, 1.01);
        plot.XLabel("false positive rate");
        plot.YLabel("true positive rate");
        plot.Title(title);
        plot.ShowLegend(Alignment.LowerRight);
        return PlotFile.SavePng(plot, path, 640, 600);
    }
}
