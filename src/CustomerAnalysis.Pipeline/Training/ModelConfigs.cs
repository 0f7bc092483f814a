using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>A training request before it is resolved: what <c>POST /api/training</c>, the retraining timer and
/// <c>ca run</c> ask for.</summary>
/// <param name="Model">Model config name (<c>rnn</c>, <c>transformer</c>: a file in the config folder); null: the
/// task's default from the pipeline config.</param>
/// <param name="Name">Registry model name; null: the task's from the pipeline config.</param>
/// <param name="Settings">Overrides of single settings: <c>{"group.key": value}</c> or <c>{"group": {"key": value}}</c>.</param>
/// <param name="Grid">Replaces <c>grid_search_params</c> when given.</param>
/// <param name="Prepare">Prepare options as JSON (<c>overrides.prepare</c>): each key replaces the task's (the pipeline
/// config's <c>models.{task}.signals</c>, <c>signal_dropout</c>) or the default; null: those.</param>
public sealed record TrainingRequest(
    string Source,
    PredictionTask Task,
    string? Model = null,
    string? Name = null,
    JsonObject? Settings = null,
    JsonObject? Grid = null,
    JsonObject? Prepare = null);

/// <summary>Resolves a <see cref="TrainingRequest"/> into the orchestration's <see cref="TrainingInput"/>: the model
/// config file plus overrides, with the task forced to the request's, validated by <see cref="NnConfig"/>.</summary>
public static class ModelConfigs
{
    public static TrainingInput Resolve(PipelineConfig pipeline, TrainingRequest request)
    {
        var section = pipeline.Models.For(request.Task);
        var model = request.Model ?? section.Model;
        var name = Storage.ModelNames.Validate(request.Name ?? section.Name);
        var config = Load(pipeline, model);

        var json = JsonNode.Parse(config.ToJson())!.AsObject();
        foreach (var (key, value) in Flatten(request.Settings))
        {
            var dot = key.IndexOf('.');
            if (dot <= 0 || dot == key.Length - 1)
                throw new InvalidInputException(
                    $"Override '{key}' must name a setting as group.key (e.g. {NnConfig.TrainingGroup}.num_epochs).");
            var (group, setting) = (key[..dot], key[(dot + 1)..]);
            if (json[group] is not JsonObject groupObject)
                json[group] = groupObject = [];
            groupObject[setting] = value?.DeepClone();
        }
        if (request.Grid != null)
            json[NnConfig.GridGroup] = request.Grid.DeepClone();
        json[NnConfig.TrainingGroup] ??= new JsonObject();
        json[NnConfig.TrainingGroup]!["task"] = PredictionTasks.Name(request.Task);

        NnConfig resolved;
        try
        {
            resolved = NnConfig.Parse(json.ToJsonString());
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"Model config '{model}' with the overrides is invalid: {e.Message}", e);
        }
        CheckGrid(resolved, model);
        var prepare = PrepareOptionsFor(section, request);
        // Caught at submit rather than by the trainer once the data is read.
        if (resolved.Init.UseSignals && prepare.SignalSet.IsEmpty)
            throw new InvalidInputException(
                $"Model config '{model}' has model_init_params.use_signals true but the run's data has no signals: set " +
                $"overrides.prepare.signals (e.g. \"recommended\") or {PipelineConfig.ModelsSection.KeyOf(request.Task)}:signals, or train a names-only model config.");
        return new TrainingInput
        {
            Source = request.Source,
            Task = request.Task,
            ModelName = name,
            ModelConfig = resolved.ToJson(),
            PrepareOptions = prepare,
            Wait = pipeline.Workers.ToWorkWait(),
            Shards = pipeline.Prepare.ValidShards(),
        };
    }

    /// <summary>The task's prepare settings from the pipeline config (<see cref="PipelineConfig.ModelSection.PrepareDefaults"/>),
    /// each key the request's <c>overrides.prepare</c> sets replacing the task's; validated here, before the run starts,
    /// with the same rules as <c>config/prepare.json</c>.</summary>
    private static PrepareOptions PrepareOptionsFor(PipelineConfig.ModelSection section, TrainingRequest request)
    {
        var json = section.PrepareDefaults(PipelineConfig.ModelsSection.KeyOf(request.Task));
        foreach (var (key, value) in request.Prepare ?? []) json[key] = value?.DeepClone();
        return PrepareOptionsFile.Parse(json.ToJsonString(), "overrides.prepare");
    }

    /// <summary>The most trials one run may have (the grid's cartesian product, or <c>search_trials</c>); a bigger
    /// grid is refused at submit.</summary>
    public const int MaxTrials = ModelGrid.MaxTrials;

    /// <summary>Walks the grid as the run will, so that a bad grid fails at submit, naming the key, instead of in the
    /// run: each value alone (named <c>grid_search_params.key[i]</c>), the product's size, then every combination
    /// through <see cref="ModelGrid.Expand"/> (the settings the trials will use).</summary>
    private static void CheckGrid(NnConfig config, string model)
    {
        var invalid = $"Model config '{model}' with the overrides is invalid:";
        long trials = 1;
        foreach (var (key, values) in config.Grid)
        {
            for (var i = 0; i < values.Count; i++)
            {
                var at = $"{NnConfig.GridGroup}.{key}[{i}]";
                if (values[i] is not { } value)
                    throw new InvalidInputException($"{invalid} {at} is null.");
                try
                {
                    config.WithSettings(new Dictionary<string, JsonNode>(StringComparer.Ordinal) { [key] = value });
                }
                catch (InvalidInputException e)
                {
                    var shown = value.ToJsonString();
                    throw new InvalidInputException(
                        $"{invalid} {at} = {(shown.Length <= 40 ? shown : shown[..40] + "…")}: {e.Message}", e);
                }
            }
            trials *= values.Count;
            // Random search draws search_trials points whatever the lists' product.
            if (trials > MaxTrials && config.Pipeline is { Search: SearchKind.Grid } or { Search: SearchKind.Asha, SearchTrials: 0 })
                throw new InvalidInputException(
                    $"{invalid} {NnConfig.GridGroup} has more than {MaxTrials} combinations (at key {key}).");
        }
        try
        {
            ModelGrid.Expand(config);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"{invalid} a combination of {NnConfig.GridGroup}: {e.Message}", e);
        }
    }

    /// <summary>Model config names available (file names without <c>.json</c> in the config folder).</summary>
    public static IReadOnlyList<string> Available(PipelineConfig pipeline) =>
        Directory.Exists(pipeline.ModelConfigDirectory)
            ? Directory.GetFiles(pipeline.ModelConfigDirectory, "*.json").Select(Path.GetFileNameWithoutExtension)
                .OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    private static NnConfig Load(PipelineConfig pipeline, string model)
    {
        var available = Available(pipeline);
        if (!available.Contains(model, StringComparer.Ordinal))
            throw new InvalidInputException(
                // The server's folder is not named: the caller may be a remote client.
                $"Unknown model '{model}'; available: {string.Join(", ", available)}.");
        return NnConfig.Load(Path.Combine(pipeline.ModelConfigDirectory, model + ".json"));
    }

    /// <summary>{"a.b": 1, "c": {"d": 2}} → ("a.b", 1), ("c.d", 2).</summary>
    private static IEnumerable<(string Key, JsonNode? Value)> Flatten(JsonObject? settings)
    {
        if (settings == null) yield break;
        foreach (var (key, value) in settings)
        {
            if (value is JsonObject nested && !key.Contains('.'))
                foreach (var (inner, innerValue) in nested)
                    yield return ($"{key}.{inner}", innerValue);
            else
                yield return (key, value);
        }
    }
}
