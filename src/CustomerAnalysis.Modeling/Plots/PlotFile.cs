using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>A PNG written by one of the plots here, with its pixel size.</summary>
public sealed record SavedPlot(string Path, int Width, int Height);

/// <summary>Writes a finished plot as a PNG, creating the folder; shared by every plot here.</summary>
internal static class PlotFile
{
    /// <summary>Pixels per cell of the heatmap-style plots: wide enough for an event name like <c>add_to_cart</c>.</summary>
    public const int CellWidth = 110;
    public const int CellHeight = 44;

    public static SavedPlot SavePng(Plot plot, string path, int width, int height)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new ArgumentException("A plot needs a file path.", nameof(path));
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        // The font scripts/setup.sh installs; a clean sans face reads better in small cells than the default.
        plot.Font.Set("DejaVu Sans");
        plot.Legend.FontName = "DejaVu Sans";
        plot.SavePng(path, width, height);
        return new SavedPlot(path, width, height);
    }

    /// <summary>Black on light cells, white on dark ones (the colormaps here run dark → light).</summary>
    public static Color TextColorOn(double fractionOfRange) => fractionOfRange > 0.55 ? Colors.Black : Colors.White;

    /// <summary>Bottom-axis class names slanted so long event names neither overlap nor run off the image.</summary>
    public static void SlantedBottomLabels(Plot plot, IReadOnlyList<string> labels)
    {
        plot.Axes.Bottom.TickGenerator = Ticks(labels);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        // Room for the longest name at 45° (about 7 px per character at the default tick font) plus the axis label.
        var longest = labels.Count == 0 ? 0 : labels.Max(l => l.Length);
        plot.Axes.Bottom.MinimumSize = 40 + longest * 7 * 0.71f;
    }

    /// <summary>Manual ticks at 0, 1, 2, ... with the given labels.</summary>
    public static ScottPlot.TickGenerators.NumericManual Ticks(IReadOnlyList<string> labels)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < labels.Count; i++) ticks.AddMajor(i, labels[i]);
        return ticks;
    }
}
