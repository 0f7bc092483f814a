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
        // ScottPlot centres cell (row t, column p) at x = p, y = size − 1 − t (row 0 on top).
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
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
        PlotFile.SlantedBottomLabels(plot, matrix.ClassNames);
        plot.Axes.SetLimits(-0.5, size - 0.5, -0.5, size - 0.5);
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Title(title);
        var pixels = 260 + size * 70;
        return PlotFile.SavePng(plot, path, pixels + 120, pixels);
    }
}
