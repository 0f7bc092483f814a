using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests;

// Small honest implementations of the pipeline's seams (the real preparer/trainer plug in after merge): a synthetic
// events dataset and a "model" that is a lookup table from the last event to next-event counts. Metrics are really
// computed, so a worse grid point really scores worse.

/// <summary>Builds an events dataset where the next event follows the last one by a fixed rule 80% of the time.
/// Source "synthetic:{n}" gives n sequences; anything else is rejected.</summary>
public sealed class SyntheticPreparer : IDatasetPreparer
{
    public static readonly string[] Events = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"];

    /// <summary>A synthetic source, or any other checked as the real preparer checks it (so the API's submit checks
    /// can be tested on real paths); only synthetic ones can be prepared.</summary>
    public void CheckSource(string source)
    {
        if (source.StartsWith("synthetic:")) Count(source);
        else new ExportDatasetPreparer().CheckSource(source);
    }

    private static int Count(string source) =>
        source.StartsWith("synthetic:") && int.TryParse(source["synthetic:".Length..], out var count)
            ? count
            : throw new Core.InvalidInputException($"Unknown test source '{source}'.");

    public Task<PreparedDataset> PrepareAsync(string source, PredictionTask task, PrepareOptions options,
        CancellationToken cancellationToken)
    {
        var count = Count(source);
        var vocabulary = new Vocabulary([Vocabulary.PadToken, Vocabulary.UnkToken, .. Events]);
        var random = new Random(options.Seed);
        var examples = new List<SequenceExample>();
        for (var i = 0; i < count; i++)
        {
            var length = random.Next(1, 5);
            var tokens = Enumerable.Range(0, length).Select(_ => random.Next(2, vocabulary.Count)).ToArray();
            var last = tokens[^1];
            // Rule: the next event is the one after the last in funnel order (purchase → page_view), 80% of the time.
            var label = random.NextDouble() < 0.8 ? 2 + (last - 2 + 1) % Events.Length : random.Next(2, vocabulary.Count);
            examples.Add(new SequenceExample($"s{i}", $"u{i}", tokens, new float[length], label));
        }
        var train = examples.Take(count * 7 / 10).ToList();
        var validation = examples.Skip(train.Count).Take(count * 15 / 100).ToList();
        var test = examples.Skip(train.Count + validation.Count).ToList();
        var summary = new PrepareSummary
        {
            Task = "events", Protocol = "test", RowsRead = count, RowsRejected = 0,
            RowsRejectedByReason = new Dictionary<string, long>(), Users = count, Sessions = count,
            EventNames = Events.ToDictionary(e => e, _ => 1L), Sequences = count,
            Labels = new Dictionary<string, long>(), Splits = new SplitSizes(train.Count, validation.Count, test.Count),
        };
        return Task.FromResult(new PreparedDataset(task, options, vocabulary, train, validation, test, summary));
    }
}

/// <summary>The checkpoint: next-event counts by last event name (context 1) or overall (context 0).</summary>
public sealed record LookupCheckpoint(int Context, Dictionary<string, Dictionary<string, int>> Counts)
{
    private const string Any = "*";

    public static LookupCheckpoint Train(PreparedDataset dataset, int context)
    {
        var counts = new Dictionary<string, Dictionary<string, int>>();
        foreach (var example in dataset.Train)
        {
            var key = context == 1 ? dataset.Vocabulary.Decode(example.Tokens[^1]) : Any;
            var next = dataset.Vocabulary.Decode(example.Label);
            var row = counts.TryGetValue(key, out var r) ? r : counts[key] = new Dictionary<string, int>();
            row[next] = row.GetValueOrDefault(next) + 1;
        }
        return new LookupCheckpoint(context, counts);
    }

    public IReadOnlyList<EventProbability> Predict(IReadOnlyList<string> events, int top)
    {
        var key = Context == 1 ? events[^1] : Any;
        if (!Counts.TryGetValue(key, out var row))
            row = Counts.Values.SelectMany(r => r).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
        var total = (double)row.Values.Sum();
        return row.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(top).Select(p => new EventProbability(p.Key, p.Value / total)).ToList();
    }

    public double Accuracy(PreparedDataset dataset, IReadOnlyList<SequenceExample> split) =>
        split.Count(e => Predict(e.Tokens.Select(dataset.Vocabulary.Decode).ToList(), 1)[0].Event
                         == dataset.Vocabulary.Decode(e.Label)) / (double)split.Count;

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this));

    public static LookupCheckpoint Load(string path) =>
        JsonSerializer.Deserialize<LookupCheckpoint>(File.ReadAllText(path))!;
}

/// <summary>Reads the trial's real model config: <c>num_layers</c> 1 = a table blind to the last event (context 0),
/// 2 or more = keyed by the last event (context 1, the better model); <c>learning_rate</c> ≥ <see cref="FailingLearningRate"/>
/// always throws.</summary>
public sealed class LookupTrialRunner : ITrialRunner
{
    public const double FailingLearningRate = 9;
    private int _runs;
    public int Runs => _runs;

    public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        var config = Core.Configuration.NnConfig.Parse(request.ModelConfig).WithSettings(
            request.Params.ToDictionary(p => p.Key, p => System.Text.Json.Nodes.JsonNode.Parse(p.Value.GetRawText())!));
        if (config.Training.LearningRate >= FailingLearningRate)
            throw new InvalidOperationException($"Trial {request.TrialId} was asked to fail.");
        var context = ((Core.Configuration.RnnInitParams)config.Init).NumLayers >= 2 ? 1 : 0;
        var checkpoint = LookupCheckpoint.Train(request.Dataset, context);
        checkpoint.Save(request.CheckpointPath);
        var accuracy = checkpoint.Accuracy(request.Dataset, request.Dataset.Validation);
        await File.WriteAllTextAsync(Path.Combine(request.PlotsDirectory, "loss.svg"),
            $"""<svg xmlns="http://www.w3.org/2000/svg" width="240" height="60"><text x="8" y="36">loss {1 - accuracy:F3}</text></svg>""", cancellationToken);
        return new TrialResult(
            [new EpochMetrics(1, new Dictionary<string, double> { ["loss"] = 1 - accuracy })],
            new Dictionary<string, double> { ["accuracy"] = accuracy });
    }
}

public sealed class LookupEvaluator : IEvaluator
{
    public int Evaluations;
    public int ModelScorings;

    public Task<IReadOnlyDictionary<string, double>> ScoreModelAsync(PreparedDataset dataset, string checkpointPath,
        CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ModelScorings);
        var model = LookupCheckpoint.Load(checkpointPath);
        return Task.FromResult<IReadOnlyDictionary<string, double>>(
            new Dictionary<string, double> { ["accuracy"] = model.Accuracy(dataset, dataset.Test) });
    }

    public Task<EvaluationResult> EvaluateAsync(PreparedDataset dataset, string checkpointPath,
        string? artifactsDirectory, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Evaluations);
        var model = LookupCheckpoint.Load(checkpointPath);
        var majority = LookupCheckpoint.Train(dataset, context: 0);
        return Task.FromResult(new EvaluationResult(
            new Dictionary<string, double> { ["accuracy"] = model.Accuracy(dataset, dataset.Test) },
            new Dictionary<string, IReadOnlyDictionary<string, double>>
            {
                ["majority"] = new Dictionary<string, double> { ["accuracy"] = majority.Accuracy(dataset, dataset.Test) },
            }));
    }
}

/// <summary>A churn "model" for the serving tests: a churn rate per event name. A user's probability is the mean rate
/// of their events (an unknown event counts 0.5); the attention is how far each event's rate is from 0.5, normalised
/// to sum 1 (an unknown event tells nothing: 0).</summary>
public sealed record LookupChurnCheckpoint(Dictionary<string, double> ChurnByEvent)
{
    public const double Unknown = 0.5;

    public ChurnPrediction Predict(IReadOnlyList<string> events)
    {
        var rates = events.Select(e => ChurnByEvent.GetValueOrDefault(e, Unknown)).ToList();
        var evidence = rates.Select(r => Math.Abs(r - Unknown)).ToList();
        var total = evidence.Sum();
        return new ChurnPrediction(rates.Average(),
            evidence.Select(w => total == 0 ? 1.0 / evidence.Count : w / total).ToList());
    }

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this));
}

public sealed class LookupModelLoader : IModelLoader
{
    public Task<IPredictor> LoadAsync(string checkpointPath, CancellationToken cancellationToken)
    {
        using (var json = JsonDocument.Parse(File.ReadAllText(checkpointPath)))
            if (json.RootElement.TryGetProperty(nameof(LookupChurnCheckpoint.ChurnByEvent), out _))
                return Task.FromResult<IPredictor>(new LookupChurnPredictor(
                    JsonSerializer.Deserialize<LookupChurnCheckpoint>(json.RootElement)!));
        return Task.FromResult<IPredictor>(new LookupPredictor(LookupCheckpoint.Load(checkpointPath)));
    }

    private sealed class LookupChurnPredictor(LookupChurnCheckpoint model) : IPredictor
    {
        public PredictionTask Task => PredictionTask.Churn;
        public double ChurnThreshold => 0.5;

        public bool KnowsEvent(string eventName) => model.ChurnByEvent.ContainsKey(eventName);

        public IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top) =>
            throw new NotSupportedException("This is a churn model.");

        public IReadOnlyList<ChurnPrediction> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users) =>
            users.Select(events => model.Predict(events.Select(e => e.Name).ToList())).ToList();

        public void Dispose()
        {
        }
    }

    private sealed class LookupPredictor(LookupCheckpoint model) : IPredictor
    {
        public PredictionTask Task => PredictionTask.Events;
        public double ChurnThreshold => 0.5;

        public bool KnowsEvent(string eventName) => SyntheticPreparer.Events.Contains(eventName);

        public IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top) =>
            sessions.Select(events => new NextEventPrediction(
                model.Predict(events.Select(e => e.Name).ToList(), top),
                // The table looks at the last event only (context 1) or at none (context 0).
                events.Select((_, i) => model.Context == 1 && i == events.Count - 1 ? 1.0 : 0.0).ToList())).ToList();

        public IReadOnlyList<ChurnPrediction> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users) =>
            throw new NotSupportedException("This is an events model.");

        public void Dispose()
        {
        }
    }
}

/// <summary>Holds every trial until released (to test behaviour while a run is active).</summary>
public sealed class GatedTrialRunner : ITrialRunner
{
    private readonly LookupTrialRunner _inner = new();
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
    {
        Entered.TrySetResult();
        await Release.Task;
        return await _inner.RunAsync(request, cancellationToken);
    }
}

/// <summary>Model configs for the lookup doubles: real NnConfig JSON (the pipeline validates it) whose grid the doubles
/// read. <see cref="Directory"/> holds one config, <see cref="Name"/>, training a blind table (num_layers 1) and a
/// last-event table (num_layers 2).</summary>
public static class LookupModelConfigs
{
    public const string Name = "lookup";

    public static string Directory { get; } = Create();

    public static string Json(object grid) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["model_type"] = "rnn",
        ["model_training_params"] = new { task = "events" },
        ["pipeline_params"] = new { grid_search_metric = "accuracy" },
        ["grid_search_params"] = grid,
    });

    private static string Create()
    {
        var folder = TestFolders.Create("ca-lookup-configs-");
        File.WriteAllText(Path.Combine(folder, Name + ".json"), Json(new { num_layers = new[] { 1, 2 } }));
        return folder;
    }
}
