using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>One raw GA4 event as the export file holds it: name, time (µs) and the signal values a reader finds,
/// by signal name, as JSON (a string, or a number for numeric fields).</summary>
internal sealed record RawEvent(string User, long Session, long Timestamp, string Name, IReadOnlyDictionary<string, JsonNode> Signals)
{
    /// <summary>The event as a predict request sends it: name, ISO-8601 time and its signals.</summary>
    public JsonObject ToRequest(bool withSignals = true)
    {
        var json = new JsonObject
        {
            ["name"] = Name,
            ["timestamp"] = DateTimeOffset.UnixEpoch.AddTicks(Timestamp * 10).ToString("O", CultureInfo.InvariantCulture),
        };
        if (withSignals)
            foreach (var (name, value) in Signals) json[name] = value.DeepClone();
        return json;
    }
}

/// <summary>
/// A small synthetic export as newline-delimited JSON, read back raw (every event's signal values as the file holds
/// them), and real TorchSharp models over its prepared datasets with every recommended signal (<c>use_signals</c>,
/// with time gaps; seeded, untrained: their outputs depend on every input, which is what parity needs). Written once
/// per test run.
/// </summary>
internal static class SignalData
{
    public static readonly SignalSet Set = Signals.Recommended;
    /// <summary>A small cap, so that values outside it (<c>&lt;OTHER&gt;</c>) occur.</summary>
    public static readonly PrepareOptions Options = PrepareOptions.Default with { Signals = Set, SignalVocabularySize = 4 };

    public sealed record Data(string Export, IReadOnlyDictionary<(string User, long Session), RawEvent[]> Sessions,
        PreparedDataset Events, PreparedDataset Churn, string EventsCheckpoint, string ChurnCheckpoint, string NamesOnlyCheckpoint);

    private static readonly Lazy<Task<Data>> Lazy = new(CreateAsync);

    public static Task<Data> GetAsync() => Lazy.Value;

    public static NnConfig Config(PredictionTask task, bool useSignals) => NnConfig.Parse($$"""
        {
          "model_type": "rnn",
          "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 16, "attention_type": "global",
                                 "use_time_gaps": true, "max_sequence_length": 40, "use_signals": {{(useSignals ? "true" : "false")}} },
          "model_training_params": { "task": "{{PredictionTasks.Name(task)}}", "device": "cpu" },
          "pipeline_params": { "prob_threshold": 0.5, "return_churn_prob": true }
        }
        """);

    private static async Task<Data> CreateAsync()
    {
        var root = CustomerAnalysis.Testing.TestFolders.Create("ca-signals-");
        var export = Path.Combine(root, "export");
        await SyntheticExport.WriteAsync(new SyntheticExportOptions
        {
            OutputFolder = export, Events = 12_000, Days = 4, Seed = 23, Format = SyntheticFormat.Ndjson,
        });
        var events = await EventSources.Open(export, new EventSourceOptions { Signals = Set }).ReadTableAsync();
        var eventsData = DatasetPreparer.Prepare(events, PredictionTask.Events, Options, DatasetPreparer.DefaultProtocol);
        var churnData = DatasetPreparer.Prepare(events, PredictionTask.Churn, Options, DatasetPreparer.DefaultProtocol);

        string Write(string name, PredictionTask task, PreparedDataset data, bool useSignals)
        {
            var config = Config(task, useSignals);
            var model = ModelFactory.Create(config, task, data.Vocabulary.Count, seed: 7, torch.CPU, data.Signals);
            var path = Path.Combine(root, name);
            using (var file = File.Create(path))
                new ModelCheckpoint(config, data.Vocabulary, model).Write(file);
            model.Dispose();
            return path;
        }

        return new Data(export, ReadRaw(export), eventsData, churnData,
            Write("events.ckpt", PredictionTask.Events, eventsData, useSignals: true),
            Write("churn.ckpt", PredictionTask.Churn, churnData, useSignals: true),
            Write("names.ckpt", PredictionTask.Events, eventsData, useSignals: false));
    }

    /// <summary>Every event of the export's files with its raw signals, by user and session, in time order.</summary>
    private static Dictionary<(string, long), RawEvent[]> ReadRaw(string export)
    {
        var events = new List<(RawEvent Event, long Bundle)>();
        foreach (var file in Directory.GetFiles(export, "*.json").Order(StringComparer.Ordinal))
        foreach (var line in File.ReadLines(file))
        {
            if (line.Length == 0) continue;
            var row = JsonNode.Parse(line)!.AsObject();
            var parameters = row["event_params"]!.AsArray().Select(p => p!.AsObject())
                .ToDictionary(p => p["key"]!.GetValue<string>(), p => p["value"]!.AsObject());
            var signals = new Dictionary<string, JsonNode>();
            foreach (var field in Set.Fields)
            {
                JsonNode? value = null;
                if (Signals.ParamKey(field) is { } key && parameters.TryGetValue(key, out var param))
                    value = param["string_value"] ?? param["int_value"];
                else if (Signals.ColumnPath(field) is { } path)
                    value = path.Split('.').Aggregate((JsonNode?)row, (node, part) => node?[part]);
                else if (field == SignalField.ItemCategory)
                    value = row["items"]?.AsArray().Select(i => i?["item_category"]).FirstOrDefault(c => c is not null);
                if (value is null) continue;
                // As the readers read them: a numeric field's text (INT64 is written as a string) is its number.
                signals[Signals.Name(field)] = Signals.KindOf(field) == SignalKind.Numeric
                    ? JsonValue.Create(double.Parse(value.ToString(), CultureInfo.InvariantCulture))
                    : JsonValue.Create(value.ToString());
            }
            events.Add((new RawEvent(row["user_pseudo_id"]!.GetValue<string>(),
                long.Parse(parameters["ga_session_id"]["int_value"]!.ToString(), CultureInfo.InvariantCulture),
                long.Parse(row["event_timestamp"]!.GetValue<string>(), CultureInfo.InvariantCulture), row["event_name"]!.GetValue<string>(), signals),
                long.Parse(row["event_bundle_sequence_id"]!.GetValue<string>(), CultureInfo.InvariantCulture)));
        }
        // The product's event order: time, then bundle, then position in the source (a stable sort keeps it).
        return events.GroupBy(e => (e.Event.User, e.Event.Session)).ToDictionary(g => g.Key,
            g => g.OrderBy(e => e.Event.Timestamp).ThenBy(e => e.Bundle).Select(e => e.Event).ToArray());
    }
}
