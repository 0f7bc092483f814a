using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Modeling.Attention;

namespace CustomerAnalysis.Modeling.Tests.Attention;

public sealed class AttentionExportTests : IDisposable
{
    private static readonly string[] TokenNames = ["<PAD>", "<UNK>", "page_view", "scroll", "view_item"];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ca-attention-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static AttentionExport TwoSequenceExport()
    {
        var builder = new AttentionExportBuilder("val", "additive", TokenNames);
        // Two rows of length 4; row 0 is left-padded, row 1 right-padded. Padding weights are dropped with the pads.
        builder.AddBatch(3,
            paddedTokens: [0, 2, 3, 4, 2, 4, 0, 0],
            attentionWeights: [0f, 0.2f, 0.3f, 0.5f, 0.9f, 0.1f, 0f, 0f],
            predictions: ["scroll", "page_view"]);
        return builder.Build();
    }

    [Fact]
    public void Builder_drops_padding_and_names_the_events()
    {
        var batch = Assert.Single(TwoSequenceExport().Heads);

        Assert.Equal(3, batch.BatchIndex);
        Assert.Equal(["page_view", "scroll", "view_item"], batch.BatchInputs[0]);
        Assert.Equal([0.2f, 0.3f, 0.5f], batch.AttentionWeights[0]);
        Assert.Equal(["page_view", "view_item"], batch.BatchInputs[1]);
        Assert.Equal([0.9f, 0.1f], batch.AttentionWeights[1]);
        Assert.Equal(["scroll", "page_view"], batch.Predictions);
    }

    [Fact]
    public void Saved_json_has_the_original_field_names_and_loads_back()
    {
        var path = Path.Combine(_folder, "attention_val.json");
        TwoSequenceExport().Save(path);

        var json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal("val", (string?)json["phase"]);
        Assert.Equal("additive", (string?)json["attention_type"]);
        var batch = json["heads"]![0]!;
        Assert.Equal(3, (int?)batch["batch_index"]);
        Assert.Equal("view_item", (string?)batch["batch_inputs"]![0]![2]);
        Assert.Equal(0.5, (double?)batch["attention_weights"]![0]![2]);
        Assert.Equal("page_view", (string?)batch["predictions"]![1]);

        var loaded = AttentionExport.Load(path);
        Assert.Equal(["page_view", "view_item"], loaded.Heads[0].BatchInputs[1]);
        Assert.Equal([0.9f, 0.1f], loaded.Heads[0].AttentionWeights[1]);
    }

    [Fact]
    public void Load_reports_a_missing_or_broken_file()
    {
        Assert.Throws<InvalidInputException>(() => AttentionExport.Load(Path.Combine(_folder, "missing.json")));
        Directory.CreateDirectory(_folder);
        var broken = Path.Combine(_folder, "broken.json");
        File.WriteAllText(broken, "{\"phase\": ");
        Assert.Contains("not valid JSON", Assert.Throws<InvalidInputException>(() => AttentionExport.Load(broken)).Message);
    }

    [Fact]
    public void Builder_rejects_unknown_phases_and_mismatched_shapes()
    {
        Assert.Throws<ArgumentException>(() => new AttentionExportBuilder("validation", "additive", TokenNames));
        var builder = new AttentionExportBuilder("train", "additive", TokenNames);
        var shapes = Assert.Throws<ArgumentException>(() => builder.AddBatch(0, [2, 3], [0.5f], ["scroll"]));
        Assert.Contains("1 attention weights for 2 tokens", shapes.Message);
        Assert.Throws<ArgumentException>(() => builder.AddBatch(0, [2, 3, 4], [0.3f, 0.3f, 0.4f], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => builder.AddBatch(0, [2, 9], [0.5f, 0.5f], ["a"]));
    }
}
