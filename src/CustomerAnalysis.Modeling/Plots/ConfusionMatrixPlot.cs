using CustomerAnalysis.Core.Evaluation;
using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>
/// A confusion matrix (rows = true class, columns = predicted). Colour = share of the row (the class's recall on the
/// diagonal) so rare classes are as visible as common ones; each cell shows its count.
/// </summary>
public static class ConfusionMatrixPlot
{
    public static SavedPlot Save(string path, ConfusionMatrix matrix, string title = "Confusion matrix")
    {
        var size = matrix.ClassNames.Count;
        if (size == 0 || matrix.Counts.Length != size || matrix.Counts.Any(row => row.Length != size))
            throw new ArgumentException($"A confusion matrix over {size} classes needs {size}×{size} counts.", nameof(matrix));

        var plot = new Plot();
        var shares = new double[size, size];
        for (var t = 0; t < size; t++)
        {
            var rowTotal = matrix.Counts[t].Sum();
            for (var p = 0; p < size; p++)
                shares[t, p] = rowTotal == 0 ? 0 : (double)matrix.Counts[t][p] / rowTotal;
        }
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // Row 0 of the intensities is drawn at the top: true class t sits at y = size − 1 − t.
        heatmap.Position = new CoordinateRect(-0.5, size - 0.5, -0.5, size - 0.5);
        plot.Add.ColorBar(heatmap).Label = "share of true class";

        for (var t = 0; t < size; t++)
            for (var p = 0; p < size; p++)
            {
                var text = plot.Add.Text(matrix.Counts[t][p].ToString(), p, size - 1 - t);
                text.LabelFontSize = 12;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = PlotFile.TextColorOn(shares[t, p]);
            }

        plot.Axes.Left.TickGenerator = PlotFile.Ticks(matrix.ClassNames.Reverse().ToArray());
        plot.Axes.Bottom.TickGenerator = PlotFile.Ticks(matrix.ClassNames);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.SetLimits(-0.5, size - 0.5, -0.5, size - 0.5);
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Title(title);
        var pixels = 260 + size * 70;
        return PlotFile.SavePng(plot, path, pixels + 120, pixels);
    }
}
