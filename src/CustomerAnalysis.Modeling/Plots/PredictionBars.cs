using ScottPlot;

namespace CustomerAnalysis.Modeling.Plots;

/// <summary>True vs predicted counts per class as grouped bars (classes that occur in either).</summary>
public static class PredictionBars
{
    public static SavedPlot Save(string path, int[] labels, int[] predicted, IReadOnlyList<string> classNames,
        string title = "True vs predicted")
    {
        if (labels.Length != predicted.Length)
            throw new ArgumentException($"{predicted.Length} predictions for {labels.Length} labels.", nameof(predicted));
        var trueCounts = Count(labels, classNames.Count, nameof(labels));
        var predictedCounts = Count(predicted, classNames.Count, nameof(predicted));
        var shown = Enumerable.Range(0, classNames.Count).Where(c => trueCounts[c] + predictedCounts[c] > 0).ToArray();
        if (shown.Length == 0)
            throw new ArgumentException("No labels to draw.", nameof(labels));

        var plot = new Plot();
        var trueColor = Colors.Category10[0];
        var predictedColor = Colors.Category10[1];
        var bars = new List<Bar>();
        for (var i = 0; i < shown.Length; i++)
        {
            bars.Add(new Bar { Position = i - 0.2, Value = trueCounts[shown[i]], Size = 0.4, FillColor = trueColor });
            bars.Add(new Bar { Position = i + 0.2, Value = predictedCounts[shown[i]], Size = 0.4, FillColor = predictedColor });
        }
        plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "true", FillColor = trueColor });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "predicted", FillColor = predictedColor });
        plot.ShowLegend(Alignment.UpperRight);

        PlotFile.SlantedBottomLabels(plot, shown.Select(c => classNames[c]).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel("examples");
        return PlotFile.SavePng(plot, path, Math.Max(640, 160 + shown.Length * 70), 560);
    }

    private static int[] Count(int[] classIds, int classCount, string parameter)
    {
        var counts = new int[classCount];
        foreach (var id in classIds)
        {
            if ((uint)id >= (uint)classCount)
                throw new ArgumentException($"Class {id} is outside the {classCount} class names.", parameter);
            counts[id]++;
        }
        return counts;
    }
}
