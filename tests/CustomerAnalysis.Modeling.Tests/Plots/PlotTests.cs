using System.Buffers.Binary;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Modeling.Attention;
using CustomerAnalysis.Modeling.Plots;

namespace CustomerAnalysis.Modeling.Tests.Plots;

public sealed class PlotTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    // Set CA_KEEP_PLOTS=<folder> to keep the PNGs for a look.
    private readonly string _folder = Environment.GetEnvironmentVariable("CA_KEEP_PLOTS")
        ?? Path.Combine(Path.GetTempPath(), "ca-plot-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("CA_KEEP_PLOTS") is null && Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
    }

    /// <summary>The file is a PNG (signature) whose IHDR size is the one the plot reported.</summary>
    private static void AssertPng(SavedPlot saved, int? width = null, int? height = null)
    {
        var bytes = File.ReadAllBytes(saved.Path);
        Assert.True(bytes.Length > 1000, $"{saved.Path} has only {bytes.Length} bytes");
        Assert.Equal(PngSignature, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(saved.Width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(saved.Height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        if (width is not null) Assert.Equal(width, saved.Width);
        if (height is not null) Assert.Equal(height, saved.Height);
    }

    [Fact]
    public void Attention_heatmap_writes_a_png_sized_by_rows_and_positions()
    {
        IReadOnlyList<string>[] sequences =
        [
            ["session_start", "page_view", "view_item", "add_to_cart"],
            ["page_view", "scroll"],
            ["session_start", "page_view", "user_engagement"],
        ];
        float[][] weights = [[0.1f, 0.2f, 0.3f, 0.4f], [0.75f, 0.25f], [0.2f, 0.5f, 0.3f]];

        var saved = AttentionHeatmap.Save(Path.Combine(_folder, "attention.png"), sequences, weights);

        AssertPng(saved);
        var taller = AttentionHeatmap.Save(Path.Combine(_folder, "attention-6.png"), [.. sequences, .. sequences], [.. weights, .. weights]);
        AssertPng(taller, width: saved.Width);
        Assert.True(taller.Height > saved.Height);
    }

    [Fact]
    public void Attention_heatmap_keeps_the_last_positions_of_long_sequences()
    {
        var names = Enumerable.Range(0, 50).Select(i => $"e{i}").ToArray();
        var weights = Enumerable.Repeat(0.02f, 50).ToArray();

        var wide = AttentionHeatmap.Save(Path.Combine(_folder, "wide.png"), [names], [weights], maxPositions: 50);
        var cut = AttentionHeatmap.Save(Path.Combine(_folder, "cut.png"), [names], [weights], maxPositions: 10);

        AssertPng(cut);
        Assert.True(cut.Width < wide.Width);
    }

    [Fact]
    public void Attention_heatmap_draws_an_export()
    {
        var builder = new AttentionExportBuilder("test", "additive", ["<PAD>", "<UNK>", "page_view", "scroll"]);
        builder.AddBatch(0, [0, 2, 3, 2, 3, 3], [0, 0.5f, 0.5f, 0.2f, 0.3f, 0.5f], ["scroll", "page_view"]);

        AssertPng(AttentionHeatmap.Save(Path.Combine(_folder, "export.png"), builder.Build()));
    }

    [Fact]
    public void Attention_heatmap_rejects_misaligned_weights()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            AttentionHeatmap.Save(Path.Combine(_folder, "bad.png"), [["a", "b"]], [[1f]]));
        Assert.Contains("2 events but 1 weights", error.Message);
    }

    [Fact]
    public void Prediction_bars_write_a_png()
    {
        string[] names = ["<PAD>", "<UNK>", "page_view", "scroll", "view_item", "purchase"];
        int[] labels = [2, 2, 3, 4, 4, 4, 5];
        int[] predicted = [2, 2, 2, 4, 4, 3, 2];

        AssertPng(PredictionBars.Save(Path.Combine(_folder, "bars.png"), labels, predicted, names), height: 560);
        Assert.Throws<ArgumentException>(() =>
            PredictionBars.Save(Path.Combine(_folder, "bad.png"), [9], [2], names));
    }

    [Fact]
    public void Training_curves_write_one_png_per_trial()
    {
        var trial = new TrialHistory("lstm lr=0.001",
            TrainLoss: [1.9, 1.4, 1.1, 0.95, 0.9],
            ValidationLoss: [2.0, 1.6, 1.35, 1.3, 1.32],
            MetricName: "macro_f1",
            ValidationMetric: [0.21, 0.33, 0.41, 0.44, 0.43]);

        AssertPng(TrainingCurves.Save(Path.Combine(_folder, "trial-1.png"), trial), width: 800, height: 500);
        Assert.Throws<ArgumentException>(() => TrainingCurves.Save(Path.Combine(_folder, "bad.png"),
            trial with { ValidationMetric = [0.1] }));
    }

    [Fact]
    public void Confusion_matrix_writes_a_png()
    {
        var report = NextEventMetrics.Compute([2, 3, 4, 3, 2],
            [
                0, 0, .8f, .1f, .1f,
                0, 0, .1f, .8f, .1f,
                0, 0, .3f, .6f, .1f,
                0, 0, .6f, .3f, .1f,
                0, 0, .7f, .2f, .1f,
            ],
            ["<PAD>", "<UNK>", "page_view", "scroll", "add_to_cart"]);

        AssertPng(ConfusionMatrixPlot.Save(Path.Combine(_folder, "confusion.png"), report.ConfusionMatrix));
    }

    [Fact]
    public void Roc_curve_writes_model_and_baselines_in_one_png()
    {
        int[] labels = [1, 0, 1, 0, 1, 0, 1, 0];
        RocSeries[] series =
        [
            new("model", labels, [0.9, 0.3, 0.8, 0.4, 0.35, 0.2, 0.7, 0.6]),
            new("logistic_regression", labels, [0.6, 0.5, 0.7, 0.4, 0.3, 0.45, 0.5, 0.55]),
            new("majority_class", labels, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
        ];

        AssertPng(RocCurvePlot.Save(Path.Combine(_folder, "roc.png"), series), width: 640, height: 600);
        var oneClass = Assert.Throws<ArgumentException>(() =>
            RocCurvePlot.Save(Path.Combine(_folder, "bad.png"), [new RocSeries("model", [1, 1], [0.2, 0.9])]));
        Assert.Contains("both churned and returned", oneClass.Message);
    }
}
