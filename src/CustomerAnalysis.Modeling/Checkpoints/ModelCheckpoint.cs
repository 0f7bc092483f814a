using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Baselines;
using CustomerAnalysis.Modeling.Models;
using CustomerAnalysis.Modeling.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Checkpoints;

/// <summary>
/// A trained model as one self-describing artifact: model kind and settings (the trial's config), vocabulary,
/// task, metrics, history and weights. Layout in the stream:
/// <c>"CAMODEL1"</c> · int32 LE header length · UTF-8 JSON header · int64 LE weights length · TorchSharp state dict.
/// Churn checkpoints carry <c>churn_calibration</c> (fitted on the validation split, and val_recent with
/// <c>churn_calibration_data</c> <c>val_and_recent</c>, by the config's <c>pipeline_params.churn_calibration</c> method) in the header as <c>{"method": …, parameters}</c>; the method field
/// versions it, so a checkpoint from before the other methods (<c>"platt"</c>, slope, intercept) reads and serves as it
/// did, and one written before the field existed has none and reads as uncalibrated (<see cref="PlattScaling.Identity"/>).
/// A model blended with trees (<c>combine_with_trees</c>, <see cref="TreesBlend"/>) has <c>trees_blend</c> in the
/// header and, after the weights, int64 LE length · the trees as an ML.NET model zip; its calibration is fitted on the
/// blended probabilities of the same splits.
/// </summary>
public sealed class ModelCheckpoint
{
    private static readonly byte[] Magic = "CAMODEL1"u8.ToArray();
    private const int FormatVersion = 1;

    public ModelCheckpoint(NnConfig config, Vocabulary vocabulary, SequenceModel model,
        IReadOnlyDictionary<string, double>? metrics = null, IReadOnlyList<EpochRecord>? history = null,
        ProbabilityCalibration? churnCalibration = null, TreesBlend? treesBlend = null)
    {
        if (model.VocabularySize != vocabulary.Count)
            throw new ArgumentException($"The model has {model.VocabularySize} tokens but the vocabulary {vocabulary.Count}.", nameof(vocabulary));
        Config = config;
        Vocabulary = vocabulary;
        Model = model;
        Metrics = metrics ?? new Dictionary<string, double>();
        History = history ?? [];
        ChurnCalibration = churnCalibration ?? PlattScaling.Identity;
        TreesBlend = treesBlend;
    }

    public NnConfig Config { get; }
    public Vocabulary Vocabulary { get; }
    public SequenceModel Model { get; }
    public PredictionTask Task => Model.Task;
    /// <summary>E.g. validation and test scores, by name.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }
    public IReadOnlyList<EpochRecord> History { get; }
    /// <summary>Churn: maps the model's probability to the served one (<see cref="CalibratedChurn"/>); events: identity.</summary>
    public ProbabilityCalibration ChurnCalibration { get; }
    /// <summary>The trees the served model blends in (<c>combine_with_trees: "blend"</c>); null: the sequence model alone.</summary>
    public TreesBlend? TreesBlend { get; }

    /// <summary>A checkpoint of the kept model; churn models get their calibration fitted on
    /// <see cref="TrainingResult.ValidationPredictions"/> (the validation split, the kept epoch) and, by
    /// <c>churn_calibration_data</c>, <see cref="TrainingResult.RecentValidationPredictions"/> (<see cref="FitChurnCalibration"/>).</summary>
    public static ModelCheckpoint FromTraining(TrainingResult result, Vocabulary vocabulary, IReadOnlyDictionary<string, double>? metrics = null) =>
        new(result.Config, vocabulary, result.Model, metrics, result.History, CalibrationFor(result));

    /// <summary>
    /// The checkpoint a trained model is served as: with <c>combine_with_trees: "blend"</c> the trees are fitted on
    /// <paramref name="data"/> and blended in (<see cref="TreesBlend.Fit"/>), and churn's calibration is fitted on the
    /// blended validation probabilities; otherwise exactly <see cref="FromTraining"/>. <paramref name="trees"/>: the
    /// trees to blend when fitted on <paramref name="data"/> already (shared by a run's trials); null: fitted here.
    /// </summary>
    public static ModelCheckpoint ForServing(TrainingResult result, PreparedDataset data, IReadOnlyDictionary<string, double>? metrics = null,
        Func<GradientBoostedTreesOptions, BlendTrees>? trees = null)
    {
        if (result.Config.Pipeline.CombineWithTrees != TreesCombination.Blend) return FromTraining(result, data.Vocabulary, metrics);
        var blend = TreesBlend.Fit(result, data, Experiments.PredictionScoring.ValidationMetricFor(result.Config),
            trees?.Invoke(TreesBlend.OptionsFor(result.Config, data.Signals)));
        var calibration = result.Model.Task == PredictionTask.Churn
            ? FitChurnCalibration(result.Config, blend.Combine(result.ValidationPredictions, data.Validation),
                result.RecentValidationPredictions is { Count: > 0 } recent && recent.Count == data.ValidationRecent.Count
                    ? blend.Combine(recent, data.ValidationRecent) : null)
            : PlattScaling.Identity;
        return new(result.Config, data.Vocabulary, result.Model, metrics, result.History, calibration, blend);
    }

    /// <summary>What the checkpoint serves for <paramref name="examples"/> given the sequence model's own predictions
    /// on them: blended with the trees (when it has them), then churn calibrated.</summary>
    public PredictionSet Served(PredictionSet modelPredictions, IReadOnlyList<SequenceExample> examples) =>
        CalibratedChurn(TreesBlend is { } blend ? blend.Combine(modelPredictions, examples) : modelPredictions);

    /// <summary>
    /// What the predictor and the batch scorer feed the model for raw inputs, and the trees' scores of the same
    /// inputs (what <see cref="ServedChurn"/> and <see cref="ServedDistribution"/> take; null without trees). The
    /// batch carries the encoded signals when the model uses them and the wide part's aggregates when it has one. The
    /// trees and the aggregates read the inputs as the <see cref="SequenceExample"/>s evaluation reads
    /// (<see cref="Data.ServingExamples.FromInputs"/>, built once for both), so served features are computed exactly
    /// as evaluated ones.
    /// </summary>
    /// <param name="tokens">Per input its tokens in the model's vocabulary.</param>
    /// <param name="gapSeconds">Per input its gap seconds (0 first), or null for a names-only model.</param>
    /// <param name="signals">A signals model's encoded signals per input; null otherwise.</param>
    public (Data.SequenceBatch Batch, float[]? Trees) ServingInputs(IReadOnlyList<IReadOnlyList<int>> tokens,
        IReadOnlyList<IReadOnlyList<float>>? gapSeconds, IReadOnlyList<ExampleSignals>? signals, Device device)
    {
        var batch = Data.SequenceBatch.Create(tokens, gapSeconds, Config.Init.MaxSequenceLength, device);
        if (signals is not null) batch = batch.WithSignals(signals, device);
        if (Model.Aggregates is null && TreesBlend is null) return (batch, null);
        var examples = Data.ServingExamples.FromInputs(tokens, gapSeconds, signals);
        if (Model.Aggregates is { } aggregates) batch = batch.WithAggregates(aggregates.RowTensor(examples, null, device));
        return (batch, TreesBlend?.TreeScores(examples));
    }

    /// <summary>The served churn probability of input <paramref name="index"/> from the sequence model's: blended with
    /// the trees (when it has them), then calibrated; <see cref="Served"/> per input, for the predictor and scorer.</summary>
    public double ServedChurn(double model, float[]? trees, int index) =>
        ChurnCalibration.Apply(TreesBlend is { } blend ? blend.CombineChurn(model, trees![index]) : model);

    /// <summary>The served next-event distributions [inputs, classes] from the sequence model's: blended with the
    /// trees when it has them; <see cref="Served"/> per batch, for the predictor and scorer.</summary>
    public Tensor ServedDistribution(Tensor distribution, float[]? trees) =>
        TreesBlend is { } blend
            ? tensor(blend.CombineRows(distribution.cpu().data<float>().ToArray(), trees!, (int)distribution.shape[^1]), distribution.shape)
            : distribution;

    /// <summary>This checkpoint with other metrics (the rest shared).</summary>
    public ModelCheckpoint WithMetrics(IReadOnlyDictionary<string, double> metrics) =>
        new(Config, Vocabulary, Model, metrics, History, ChurnCalibration, TreesBlend);

    /// <summary>The config's calibration of the churn model's validation probabilities; identity for next events.</summary>
    public static ProbabilityCalibration CalibrationFor(TrainingResult result) =>
        result.Model.Task == PredictionTask.Churn && result.ValidationPredictions.Count > 0
            ? FitChurnCalibration(result.Config, result.ValidationPredictions, result.RecentValidationPredictions)
            : PlattScaling.Identity;

    /// <summary>
    /// Churn: the config's calibration method (<c>churn_calibration</c>) fitted on the uncalibrated probabilities the
    /// checkpoint serves (the blend's, when it blends) of the validation split and, with <c>churn_calibration_data</c>
    /// <c>val_and_recent</c>, of the val_recent split too (<paramref name="recent"/>; null or empty: validation alone).
    /// Validation alone lacks the last day, which test keeps (issue 10).
    /// </summary>
    public static ProbabilityCalibration FitChurnCalibration(NnConfig config, PredictionSet validation, PredictionSet? recent)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(validation);
        PredictionSet[] sets = config.Pipeline.ChurnCalibrationData == CalibrationData.ValidationAndRecent && recent is { Count: > 0 }
            ? [validation, recent]
            : [validation];
        return ProbabilityCalibration.Fit(config.Pipeline.ChurnCalibration, sets.SelectMany(s => s.Labels).ToArray(),
            sets.SelectMany(s => s.Probabilities).Select(p => (double)p).ToArray());
    }

    /// <summary>The same predictions with churn probabilities calibrated (what the API serves); events unchanged.</summary>
    public PredictionSet CalibratedChurn(PredictionSet predictions) =>
        Task != PredictionTask.Churn || ChurnCalibration.IsIdentity
            ? predictions
            : predictions with { Probabilities = predictions.Probabilities.Select(p => (float)ChurnCalibration.Apply(p)).ToArray() };

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
            ["churn_calibration"] = Task == PredictionTask.Churn ? ChurnCalibration.ToJson() : null,
            ["created_utc"] = DateTime.UtcNow.ToString("O"),
        };
        // What serving needs to encode signals as training did (vocabularies, scalers); absent for names-only models.
        if (Model.Signals is { } signals) header["signals"] = JsonSerializer.SerializeToNode(signals.Features);
        if (TreesBlend is { } blend) header["trees_blend"] = new JsonObject { ["method"] = "blend", ["model_weight"] = blend.ModelWeight };
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
        if (TreesBlend is { } trees)
        {
            BinaryPrimitives.WriteInt64LittleEndian(number, trees.SavedTrees.Length);
            destination.Write(number);
            destination.Write(trees.SavedTrees);
        }
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
        var (config, vocabulary, metrics, history, calibration) = ReadHeaderFields(header);
        SignalEncoding? signals;
        try
        {
            signals = header["signals"] is { } signalsNode
                ? new SignalEncoding(signalsNode.Deserialize<SignalFeature[]>() ?? throw new JsonException("null"))
                : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidInputException($"Model checkpoint header field 'signals' is damaged: {e.Message}", e);
        }
        if (config.Init.UseSignals && signals is null)
            throw new InvalidInputException("Model checkpoint uses signals (use_signals) but carries no signal encoding.");

        var weightLength = BinaryPrimitives.ReadInt64LittleEndian(ReadExactly(source, 8, "the weights length"));
        if (weightLength <= 0 || weightLength > int.MaxValue) throw new InvalidInputException($"Model checkpoint weights length {weightLength} is invalid.");
        // Check a damaged length against what is there before allocating it (up to 2 GB).
        if (source.CanSeek && weightLength > source.Length - source.Position)
            throw new InvalidInputException(
                $"Model checkpoint is truncated (the weights length says {weightLength} bytes, {source.Length - source.Position} remain).");
        var weights = ReadExactly(source, (int)weightLength, "the weights");

        var model = ModelFactory.Create(config, config.Training.Task, vocabulary.Count, seed: 0, device ?? torch.CPU, signals);
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
        TreesBlend? blend;
        try
        {
            blend = ReadTreesBlend(header["trees_blend"], source, config, vocabulary, signals);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new ModelCheckpoint(config, vocabulary, model, metrics, history, calibration, blend);
    }

    /// <summary>The header's fields; a missing or wrongly typed field is damaged input, named in the message.</summary>
    private static (NnConfig Config, Vocabulary Vocabulary, Dictionary<string, double> Metrics, EpochRecord[] History,
        ProbabilityCalibration Calibration) ReadHeaderFields(JsonObject header)
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
            field = "churn_calibration";
            var calibration = ProbabilityCalibration.FromJson(header[field]);
            return (config, vocabulary, metrics, history, calibration);
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            // JsonNode casts throw InvalidOperation/Format/NullReference/Argument exceptions for wrong shapes.
            throw new InvalidInputException($"Model checkpoint header field '{field}' is damaged: {e.Message}", e);
        }
    }

    /// <summary>Absent (a sequence model alone): null. Present: the weight from the header, the trees from the
    /// section after the weights.</summary>
    private static TreesBlend? ReadTreesBlend(JsonNode? node, Stream source, NnConfig config, Vocabulary vocabulary, SignalEncoding? signals)
    {
        if (node is null) return null;
        double weight;
        try
        {
            var method = node["method"]?.GetValue<string>();
            if (method != "blend") throw new InvalidInputException($"Model checkpoint trees_blend method '{method}' is not supported (expected blend).");
            weight = node["model_weight"]!.GetValue<double>();
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            throw new InvalidInputException($"Model checkpoint header field 'trees_blend' is damaged: {e.Message}", e);
        }
        if (!(weight is >= 0 and <= 1)) throw new InvalidInputException($"Model checkpoint trees_blend model_weight {weight} is outside [0, 1].");
        var length = BinaryPrimitives.ReadInt64LittleEndian(ReadExactly(source, 8, "the trees length"));
        if (length <= 0 || length > int.MaxValue || (source.CanSeek && length > source.Length - source.Position))
            throw new InvalidInputException($"Model checkpoint trees length {length} is invalid or beyond the end of the file.");
        var trees = ReadExactly(source, (int)length, "the trees");
        return TreesBlend.Read(weight, trees, config.Training.Task, vocabulary.Count, TreesBlend.OptionsFor(config, signals));
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
