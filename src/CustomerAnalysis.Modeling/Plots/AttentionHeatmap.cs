using CustomerAnalysis.Modeling.Attention;
using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>
/// Attention weights as a heatmap: one row per sequence, one column per position, each cell labelled with its event
/// name and weight. Rows shorter than the longest are blank on the right.
/// </summary>
public static class AttentionHeatmap
{
    /// <param name="sequences">Event names per sequence (rows).</param>
    /// <param name="weights">Attention weight per event, aligned with <paramref name="sequences"/>.</param>
    /// <param name="maxPositions">Longer sequences show their last events only (those nearest the prediction).</param>
    public static SavedPlot Save(
        string path,
        IReadOnlyList<IReadOnlyList<string>> sequences,
        IReadOnlyList<float[]> weights,
        string title = "Attention weights",
        int maxPositions = 20)
    {
        if (sequences.Count == 0)
            throw new ArgumentException("No sequences to draw.", nameof(sequences));
        if (weights.Count != sequences.Count)
            throw new ArgumentException($"{weights.Count} weight rows for {sequences.Count} sequences.", nameof(weights));
        for (var s = 0; s < sequences.Count; s++)
            if (weights[s].Length != sequences[s].Count)
                throw new ArgumentException($"Sequence {s} has {sequences[s].Count} events but {weights[s].Length} weights.", nameof(weights));
        if (maxPositions < 1)
            throw new ArgumentOutOfRangeException(nameof(maxPositions), maxPositions, "Show at least one position.");

        var columns = Math.Min(maxPositions, sequences.Max(s => s.Count));
        var intensities = new double[sequences.Count, columns];
        var plot = new Plot();
        // ScottPlot centres cell (row r, column c) at x = c, y = rows − 1 − r (row 0 on top): sequence s is row s.
        for (var s = 0; s < sequences.Count; s++)
        {
            var skipped = Math.Max(0, sequences[s].Count - columns);
            for (var c = 0; c < columns; c++)
                intensities[s, c] = c + skipped < sequences[s].Count ? weights[s][c + skipped] : double.NaN;
        }

        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.NaNCellColor = Colors.White;
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = "attention weight";

        var maxWeight = weights.Where(w => w.Length > 0).Select(w => w.Max()).DefaultIfEmpty(1f).Max();
        for (var s = 0; s < sequences.Count; s++)
        {
            var skipped = Math.Max(0, sequences[s].Count - columns);
            for (var c = 0; c + skipped < sequences[s].Count && c < columns; c++)
            {
                var weight = weights[s][c + skipped];
                var label = plot.Add.Text($"{sequences[s][c + skipped]}\n{weight:0.00}", c, sequences.Count - 1 - s);
                label.LabelFontSize = 10;
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontColor = PlotFile.TextColorOn(maxWeight > 0 ? weight / maxWeight : 0);
            }
        }

        plot.Axes.Left.TickGenerator = PlotFile.Ticks(
            Enumerable.Range(0, sequences.Count).Select(s => $"seq {sequences.Count - 1 - s}").ToArray());
        plot.Axes.Bottom.TickGenerator = PlotFile.Ticks(Enumerable.Range(0, columns).Select(c => c.ToString()).ToArray());
        plot.Axes.SetLimits(-0.5, columns - 0.5, -0.5, sequences.Count - 0.5);
        plot.Title(title);
        plot.XLabel(columns < sequences.Max(s => s.Count) ? $"position (last {columns} events)" : "position");
        return PlotFile.SavePng(plot, path, 220 + columns * PlotFile.CellWidth, 140 + sequences.Count * PlotFile.CellHeight);
    }

    /// <summary>The first <paramref name="maxSequences"/> sequences of an export, in batch order.</summary>
    public static SavedPlot Save(string path, AttentionExport export, int maxSequences = 16, int maxPositions = 20)
    {
        var rows = export.Heads
            .SelectMany(batch => batch.BatchInputs.Zip(batch.AttentionWeights))
            .Take(maxSequences)
            .ToArray();
        return Save(path, rows.Select(r => r.First).ToArray(), rows.Select(r => r.Second).ToArray(),
            $"Attention weights ({export.Phase}, {export.AttentionType})", maxPositions);
    }
}
