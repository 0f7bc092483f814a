using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>What <c>manifest.json</c> holds: everything of a <see cref="PreparedDataset"/> but the sequences.</summary>
public sealed record PreparedDatasetManifest(
    PredictionTask Task,
    PrepareOptions Options,
    Vocabulary Vocabulary,
    PrepareSummary Summary,
    SignalEncoding? Signals = null);

/// <summary>
/// A prepared dataset as a folder a person can read and a blob container can hold file for file:
/// <list type="bullet">
/// <item><c>manifest.json</c>: <c>format_version</c>, <c>task</c> (events | churn), <c>options</c> (as in
/// <c>prepare.json</c>), <c>vocabulary</c> (tokens in id order), <c>signals</c> (only
/// with signals: each field's vocabulary or scaler, fitted on train) and <c>summary</c> (as <c>ca prepare --json</c>).</item>
/// <item><c>train.jsonl</c>, <c>val.jsonl</c>, <c>test.jsonl</c>, <c>val_recent.jsonl</c>: one
/// <see cref="SequenceExample"/> per line (<c>id, user, tokens, gap_seconds, label, time</c>), in split order. Folders
/// written before the holdout split have no <c>val_recent.jsonl</c> and no <c>time</c>: they read with an empty
/// val_recent split.</item>
/// </list>
/// The stream methods read or write one file and leave the stream open, for stores that hand out streams.
/// </summary>
public static class PreparedDatasetFiles
{
    /// <summary>Written to every manifest; a reader refuses other versions rather than misread them.</summary>
    public const int FormatVersion = 1;
    public const string ManifestFileName = "manifest.json";
    public const string TrainFileName = "train.jsonl";
    public const string ValidationFileName = "val.jsonl";
    public const string TestFileName = "test.jsonl";
    public const string ValidationRecentFileName = "val_recent.jsonl";

    private const int WriteChunkBytes = 1 << 16;

    // Relaxed escaping keeps "<PAD>" readable in the files; they are data files, never embedded in HTML.
    private static readonly JsonSerializerOptions ManifestWriteOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonWriterOptions LineWriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonSerializerOptions ReadOptions = new()
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Writes the four files into <paramref name="folder"/> (created if needed; existing files replaced).
    /// The manifest is written last, so an interrupted write leaves a folder that does not read as a dataset.</summary>
    public static async Task WriteAsync(PreparedDataset dataset, string folder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        Directory.CreateDirectory(folder);
        foreach (var (fileName, examples) in SplitFiles(dataset))
        {
            await using var stream = File.Create(Path.Combine(folder, fileName));
            await WriteExamplesAsync(examples, stream, cancellationToken);
        }
        await using var manifest = File.Create(Path.Combine(folder, ManifestFileName));
        await WriteManifestAsync(dataset, manifest, cancellationToken);
    }

    /// <exception cref="InvalidInputException">The folder or one of its files is missing, or a file is not what a
    /// prepared dataset holds (the message names the file and line).</exception>
    public static async Task<PreparedDataset> ReadAsync(string folder, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(folder))
            throw new InvalidInputException($"'{folder}' is not a prepared dataset: the folder does not exist.");
        foreach (var fileName in new[] { ManifestFileName, TrainFileName, ValidationFileName, TestFileName })
            if (!File.Exists(Path.Combine(folder, fileName)))
                throw new InvalidInputException($"'{folder}' is not a prepared dataset: {fileName} is missing.");

        PreparedDatasetManifest manifest;
        var manifestPath = Path.Combine(folder, ManifestFileName);
        await using (var stream = File.OpenRead(manifestPath))
            manifest = await ReadManifestAsync(stream, manifestPath, cancellationToken);

        var splits = new IReadOnlyList<SequenceExample>[3];
        var expectedSizes = new[] { manifest.Summary.Splits.Train, manifest.Summary.Splits.Validation, manifest.Summary.Splits.Test };
        var fileNames = new[] { TrainFileName, ValidationFileName, TestFileName };
        for (var part = 0; part < 3; part++)
        {
            var path = Path.Combine(folder, fileNames[part]);
            await using var stream = File.OpenRead(path);
            splits[part] = await ReadExamplesAsync(stream, path, manifest, cancellationToken);
            if (splits[part].Count != expectedSizes[part])
                throw new InvalidInputException(
                    $"{path}: {splits[part].Count} examples, but {ManifestFileName} says {expectedSizes[part]}.");
        }
        IReadOnlyList<SequenceExample> recent = [];
        var recentPath = Path.Combine(folder, ValidationRecentFileName);
        if (File.Exists(recentPath))
        {
            await using var stream = File.OpenRead(recentPath);
            recent = await ReadExamplesAsync(stream, recentPath, manifest, cancellationToken);
        }
        if (recent.Count != manifest.Summary.Splits.ValidationRecent)
            throw new InvalidInputException(File.Exists(recentPath)
                ? $"{recentPath}: {recent.Count} examples, but {ManifestFileName} says {manifest.Summary.Splits.ValidationRecent}."
                : $"'{folder}' is not a prepared dataset: {ValidationRecentFileName} is missing ({ManifestFileName} says {manifest.Summary.Splits.ValidationRecent} examples).");
        return new PreparedDataset(manifest.Task, manifest.Options, manifest.Vocabulary, splits[0], splits[1], splits[2],
            manifest.Summary, manifest.Signals) { ValidationRecent = recent };
    }

    public static async Task WriteManifestAsync(PreparedDataset dataset, Stream stream,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var document = new ManifestDocument(FormatVersion, DatasetPreparer.TaskName(dataset.Task), dataset.Options,
            dataset.Vocabulary.Tokens, dataset.Summary, dataset.Signals?.Features);
        await JsonSerializer.SerializeAsync(stream, document, ManifestWriteOptions, cancellationToken);
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <param name="source">Names the stream in error messages (a path or blob name).</param>
    public static async Task<PreparedDatasetManifest> ReadManifestAsync(Stream stream, string source,
        CancellationToken cancellationToken = default)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(stream, default, cancellationToken);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{source}: not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException($"{source}: a dataset manifest is a JSON object.");

            var version = Required(root, "format_version", source);
            if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var formatVersion) ||
                formatVersion != FormatVersion)
                throw new InvalidInputException(
                    $"{source}: \"format_version\" is {version.GetRawText()}; this program reads version {FormatVersion}.");

            var taskName = Required(root, "task", source);
            if (!PredictionTasks.TryParse(taskName.ValueKind == JsonValueKind.String ? taskName.GetString() : null, out var task))
                throw new InvalidInputException(
                    $"{source}: \"task\" must be one of events, churn; got {taskName.GetRawText()}.");

            var optionsJson = Required(root, "options", source);
            var options = PrepareOptionsFile.FromJson(optionsJson, $"{source} (options)");
            // A manifest from before holdout_days had no holdout, whatever today's default.
            if (optionsJson.ValueKind == JsonValueKind.Object && !optionsJson.TryGetProperty("holdout_days", out _))
                options = options with { HoldoutDays = 0 };
            var vocabulary = ReadVocabulary(Required(root, "vocabulary", source), source);
            var summary = ReadSummary(Required(root, "summary", source), task, source);
            var signals = root.TryGetProperty("signals", out var signalsJson) ? ReadSignals(signalsJson, source) : null;
            if ((signals is null) != options.SignalSet.IsEmpty || (signals is not null && !signals.Set.Equals(options.SignalSet)))
                throw new InvalidInputException($"{source}: \"signals\" does not match the options' signals ({options.SignalSet}).");
            return new PreparedDatasetManifest(task, options, vocabulary, summary, signals);
        }
    }

    /// <summary>Writes one example per line (UTF-8, <c>\n</c>); leaves the stream open.</summary>
    public static async Task WriteExamplesAsync(IEnumerable<SequenceExample> examples, Stream stream,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var buffer = new ArrayBufferWriter<byte>(WriteChunkBytes * 2);
        await using var writer = new Utf8JsonWriter(buffer, LineWriteOptions);
        foreach (var example in examples)
        {
            JsonSerializer.Serialize(writer, example);
            writer.Flush();
            writer.Reset(); // the next line is a new JSON document
            buffer.Write("\n"u8);
            if (buffer.WrittenCount >= WriteChunkBytes)
            {
                await stream.WriteAsync(buffer.WrittenMemory, cancellationToken);
                buffer.ResetWrittenCount();
            }
        }
        await stream.WriteAsync(buffer.WrittenMemory, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>Reads one example per line (blank lines skipped); leaves the stream open.</summary>
    /// <param name="source">Names the stream in error messages (a path or blob name).</param>
    /// <param name="manifest">When given, tokens and labels are checked against its vocabulary and task.</param>
    public static async Task<IReadOnlyList<SequenceExample>> ReadExamplesAsync(Stream stream, string source,
        PreparedDatasetManifest? manifest = null, CancellationToken cancellationToken = default)
    {
        var examples = new List<SequenceExample>();
        using var reader = new StreamReader(stream, new UTF8Encoding(false), false, WriteChunkBytes, leaveOpen: true);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            SequenceExample? example;
            try
            {
                example = JsonSerializer.Deserialize<SequenceExample>(line, ReadOptions);
            }
            catch (JsonException e)
            {
                throw new InvalidInputException($"{source} line {lineNumber}: not a sequence example ({e.Message})", e);
            }
            if (example is null)
                throw new InvalidInputException($"{source} line {lineNumber}: not a sequence example (null).");
            if (Problem(example, manifest) is { } problem)
                throw new InvalidInputException($"{source} line {lineNumber}: {problem}.");
            examples.Add(example);
        }
        return examples;
    }

    private static string? Problem(SequenceExample example, PreparedDatasetManifest? manifest)
    {
        if (example.Tokens.Length != example.GapSeconds.Length)
            return $"{example.Tokens.Length} tokens but {example.GapSeconds.Length} gap_seconds";
        if (manifest is null) return null;
        if ((example.Signals is null) != (manifest.Signals is null))
            return manifest.Signals is null ? "signals, but the manifest has none" : "no signals, but the manifest has them";
        if (example.Signals is { } signals && manifest.Signals is { } encoding)
        {
            if (signals.Categorical.Length != encoding.EventCategorical.Count || signals.Numeric.Length != encoding.EventNumeric.Count
                || signals.User.Length != encoding.UserCategorical.Count)
                return "signals of other fields than the manifest's";
            if (signals.Categorical.Any(c => c.Length != example.Tokens.Length) || signals.Numeric.Any(c => c.Length != example.Tokens.Length))
                return "signals not aligned with the tokens";
            for (var f = 0; f < signals.Categorical.Length; f++)
                if (signals.Categorical[f].Any(t => t < 0 || t >= SignalEncoding.VocabularySize(encoding.EventCategorical[f])))
                    return $"a {Events.Signals.Name(encoding.EventCategorical[f].Field)} token outside its vocabulary";
            for (var f = 0; f < signals.User.Length; f++)
                if (signals.User[f] < 0 || signals.User[f] >= SignalEncoding.VocabularySize(encoding.UserCategorical[f]))
                    return $"a {Events.Signals.Name(encoding.UserCategorical[f].Field)} token outside its vocabulary";
        }
        var vocabularySize = manifest.Vocabulary.Count;
        foreach (var token in example.Tokens)
            if (token < 0 || token >= vocabularySize)
                return $"token {token} is outside the vocabulary (0..{vocabularySize - 1})";
        var labelOk = manifest.Task == PredictionTask.Churn
            ? example.Label is 0 or 1
            : example.Label >= 0 && example.Label < vocabularySize;
        return labelOk ? null : $"label {example.Label} is not valid for the {DatasetPreparer.TaskName(manifest.Task)} task";
    }

    private static IEnumerable<(string FileName, IReadOnlyList<SequenceExample> Examples)> SplitFiles(PreparedDataset dataset) =>
    [
        (TrainFileName, dataset.Train),
        (ValidationFileName, dataset.Validation),
        (TestFileName, dataset.Test),
        (ValidationRecentFileName, dataset.ValidationRecent),
    ];

    private static JsonElement Required(JsonElement obj, string key, string source) =>
        obj.TryGetProperty(key, out var value)
            ? value
            : throw new InvalidInputException($"{source}: \"{key}\" is missing.");

    private static Vocabulary ReadVocabulary(JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
            throw new InvalidInputException($"{source}: \"vocabulary\" must be an array of strings.");
        try
        {
            return new Vocabulary(value.EnumerateArray().Select(t => t.GetString()!).ToArray());
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException($"{source}: \"vocabulary\" is not valid: {e.Message}", e);
        }
    }

    private static SignalEncoding ReadSignals(JsonElement value, string source)
    {
        try
        {
            return new SignalEncoding(value.Deserialize<SignalFeature[]>(ReadOptions)
                ?? throw new InvalidInputException($"{source}: \"signals\" is null."));
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidInputException($"{source}: \"signals\" is not valid ({e.Message})", e);
        }
    }

    private static PrepareSummary ReadSummary(JsonElement value, PredictionTask task, string source)
    {
        try
        {
            var summary = value.Deserialize<PrepareSummary>(ReadOptions)
                ?? throw new InvalidInputException($"{source}: \"summary\" is null.");
            // Labels is typed object (its shape depends on the task), so it arrives as a JsonElement.
            var labels = (JsonElement)summary.Labels;
            object typedLabels = task == PredictionTask.Churn
                ? labels.Deserialize<ChurnLabelCounts>(ReadOptions)!
                : labels.Deserialize<Dictionary<string, long>>(ReadOptions)!;
            return summary with { Labels = typedLabels ?? throw new JsonException("\"labels\" is null.") };
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{source}: \"summary\" is not valid ({e.Message})", e);
        }
    }

    private sealed record ManifestDocument(
        [property: JsonPropertyName("format_version")] int FormatVersion,
        [property: JsonPropertyName("task")] string Task,
        [property: JsonPropertyName("options")] PrepareOptions Options,
        [property: JsonPropertyName("vocabulary")] IReadOnlyList<string> Vocabulary,
        [property: JsonPropertyName("summary")] PrepareSummary Summary,
        [property: JsonPropertyName("signals"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SignalFeature>? Signals);
}
