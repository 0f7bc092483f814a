using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Modeling.Attention;

/// <summary>
/// One batch of the original project's attention export: the batch's sequences as event names (padding removed),
/// each sequence's attention weight per event (aligned with the names), and the model's prediction per sequence.
/// </summary>
public sealed record AttentionBatch(
    [property: JsonPropertyName("batch_index")] int BatchIndex,
    [property: JsonPropertyName("batch_inputs")] IReadOnlyList<IReadOnlyList<string>> BatchInputs,
    [property: JsonPropertyName("attention_weights")] IReadOnlyList<float[]> AttentionWeights,
    [property: JsonPropertyName("predictions")] IReadOnlyList<string> Predictions);

/// <summary>
/// The original project's per-phase attention file:
/// <c>{"phase": "val", "attention_type": "additive", "heads": [{"batch_index": 0, "batch_inputs": [[...]],
/// "attention_weights": [[...]], "predictions": [...]}, ...]}</c>. (<c>heads</c> holds batches: the original's
/// name, kept so its notebooks still read the file.)
/// </summary>
public sealed record AttentionExport(
    [property: JsonPropertyName("phase")] string Phase,
    [property: JsonPropertyName("attention_type")] string AttentionType,
    [property: JsonPropertyName("heads")] IReadOnlyList<AttentionBatch> Heads)
{
    /// <summary>The phases the original wrote.</summary>
    public static IReadOnlyList<string> Phases { get; } = ["train", "val", "test"];

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false };

    public void Save(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, this, JsonOptions);
    }

    public static AttentionExport Load(string path)
    {
        if (!File.Exists(path))
            throw new InvalidInputException($"Attention export '{path}' does not exist.");
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<AttentionExport>(stream, JsonOptions)
                   ?? throw new InvalidInputException($"Attention export '{path}' is empty (null).");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"Attention export '{path}' is not valid JSON: {e.Message}", e);
        }
    }
}
