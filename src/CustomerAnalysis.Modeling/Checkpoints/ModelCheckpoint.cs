using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Models;
using CustomerAnalysis.Modeling.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Checkpoints;

/// <summary>
/// A trained model as one self-describing artifact: model kind and settings (the trial's config), vocabulary,
/// task, metrics, history and weights. Layout in the stream:
/// <c>"CAMODEL1"</c> · int32 LE header length · UTF-8 JSON header · int64 LE weights length · TorchSharp state dict.
/// </summary>
public sealed class ModelCheckpoint
{
    private static readonly byte[] Magic = "CAMODEL1"u8.ToArray();
    private const int FormatVersion = 1;

    public ModelCheckpoint(NnConfig config, Vocabulary vocabulary, SequenceModel model,
        IReadOnlyDictionary<string, double>? metrics = null, IReadOnlyList<EpochRecord>? history = null)
    {
        if (model.VocabularySize != vocabulary.Count)
            throw new ArgumentException($"The model has {model.VocabularySize} tokens but the vocabulary {vocabulary.Count}.", nameof(vocabulary));
        Config = config;
        Vocabulary = vocabulary;
        Model = model;
        Metrics = metrics ?? new Dictionary<string, double>();
        History = history ?? [];
    }

    public NnConfig Config { get; }
    public Vocabulary Vocabulary { get; }
    public SequenceModel Model { get; }
    public PredictionTask Task => Model.Task;
    /// <summary>E.g. validation and test scores, by name.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }
    public IReadOnlyList<EpochRecord> History { get; }

    public static ModelCheckpoint FromTraining(TrainingResult result, Vocabulary vocabulary, IReadOnlyDictionary<string, double>? metrics = null) =>
        new(result.Config, vocabulary, result.Model, metrics, result.History);

    /// <summary>Writes the checkpoint; <paramref name="destination"/> stays open.</summary>
    public void Write(Stream destination)
    {
        var header = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["model_type"] = Config.Kind == ModelKind.Rnn ? "rnn" : "transformer",
            ["task"] = PredictionTasks.Name(Task),
            ["config"] = JsonNode.Parse(Config.ToJson()),
            ["vocabulary"] = new JsonArray(Vocabulary.Tokens.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            ["metrics"] = new JsonObject(Metrics.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)JsonValue.Create(m.Value)))),
            ["history"] = JsonSerializer.SerializeToNode(History),
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
        };
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        // TorchSharp's save closes the stream it writes to: give it its own.
        var weights = new MemoryStream();
        Model.save(weights);
        var weightBytes = weights.ToArray();

        Span<byte> number = stackalloc byte[8];
        destination.Write(Magic);
        BinaryPrimitives.WriteInt32LittleEndian(number, headerBytes.Length);
        destination.Write(number[..4]);
        destination.Write(headerBytes);
        BinaryPrimitives.WriteInt64LittleEndian(number, weightBytes.Length);
        destination.Write(number);
        destination.Write(weightBytes);
        destination.Flush();
    }

    /// <summary>Reads the checkpoint file at <paramref name="path"/>; a damaged or unreadable file is an
    /// <see cref="InvalidInputException"/> naming it.</summary>
    public static ModelCheckpoint Read(string path, Device? device = null)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Read(stream, device);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"{path}: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read the model checkpoint {path}: {e.Message}", e);
        }
    }

    /// <summary>Reads a checkpoint written by <see cref="Write"/>; the model is rebuilt on <paramref name="device"/> (default CPU).</summary>
    public static ModelCheckpoint Read(Stream source, Device? device = null)
    {
        var magic = ReadExactly(source, Magic.Length, "the format marker");
        if (!magic.AsSpan().SequenceEqual(Magic)) throw new InvalidInputException("Not a CustomerAnalysis model checkpoint (bad format marker).");
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(ReadExactly(source, 4, "the header length"));
        if (headerLength <= 0 || headerLength > 256 << 20) throw new InvalidInputException($"Model checkpoint header length {headerLength} is invalid.");
        // A damaged length is checked against what is there before it sizes an allocation.
        if (source.CanSeek && headerLength > source.Length - source.Position)
            throw new InvalidInputException(
                $"Model checkpoint is truncated (the header length says {headerLength} bytes, {source.Length - source.Position} remain).");
        JsonObject header;
        try { header = JsonNode.Parse(ReadExactly(source, headerLength, "the header"))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new InvalidInputException($"Model checkpoint header is not valid JSON: {e.Message}", e);
        }
        var (config, vocabulary, metrics, history) = ReadHeaderFields(header);

        var weightLength = BinaryPrimitives.ReadInt64LittleEndian(ReadExactly(source, 8, "the weights length"));
        if (weightLength <= 0 || weightLength > int.MaxValue) throw new InvalidInputException($"Model checkpoint weights length {weightLength} is invalid.");
        // Check a damaged length against what is there before allocating it (up to 2 GB).
        if (source.CanSeek && weightLength > source.Length - source.Position)
            throw new InvalidInputException(
                $"Model checkpoint is truncated (the weights length says {weightLength} bytes, {source.Length - source.Position} remain).");
        var weights = ReadExactly(source, (int)weightLength, "the weights");

        var model = ModelFactory.Create(config, config.Training.Task, vocabulary.Count, seed: 0, device ?? torch.CPU);
        try
        {
            model.load(new MemoryStream(weights));
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            model.Dispose();
            throw new InvalidInputException($"Model checkpoint weights do not fit its model: {e.Message}", e);
        }
        model.eval();
        return new ModelCheckpoint(config, vocabulary, model, metrics, history);
    }

    /// <summary>The header's fields; a missing or wrongly typed field is damaged input, named in the message.</summary>
    private static (NnConfig Config, Vocabulary Vocabulary, Dictionary<string, double> Metrics, EpochRecord[] History)
        ReadHeaderFields(JsonObject header)
    {
        var field = "format_version";
        try
        {
            var version = header[field]?.GetValue<int>();
            if (version != FormatVersion) throw new InvalidInputException($"Model checkpoint format version {version} is not supported (expected {FormatVersion}).");
            field = "config";
            var config = NnConfig.Parse(Required(header, field).ToJsonString());
            field = "vocabulary";
            var vocabulary = new Vocabulary(Required(header, field).AsArray().Select(t => t!.GetValue<string>()).ToArray());
            field = "metrics";
            var metrics = Required(header, field).AsObject().ToDictionary(m => m.Key, m => m.Value!.GetValue<double>());
            field = "history";
            var history = header[field].Deserialize<EpochRecord[]>() ?? [];
            return (config, vocabulary, metrics, history);
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            // JsonNode casts throw InvalidOperation/Format/NullReference/Argument exceptions for wrong shapes.
            throw new InvalidInputException($"Model checkpoint header field '{field}' is damaged: {e.Message}", e);
        }
    }

    private static JsonNode Required(JsonObject header, string field) =>
        header[field] ?? throw new InvalidInputException($"Model checkpoint header has no '{field}'.");

    private static byte[] ReadExactly(Stream source, int count, string what)
    {
        var buffer = new byte[count];
        try { source.ReadExactly(buffer); }
        catch (EndOfStreamException e) { throw new InvalidInputException($"Model checkpoint is truncated (in {what}).", e); }
        return buffer;
    }
}
