using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;

namespace CustomerAnalysis.Pipeline;

/// <summary><c>config/pipeline.json</c>: storage, API keys, per-task model settings and the retraining schedule.</summary>
public sealed record PipelineConfig
{
    [JsonPropertyName("storage")] public StorageSection Storage { get; init; } = new();
    [JsonPropertyName("task_hub")] public string TaskHub { get; init; } = "customeranalysis";
    [JsonPropertyName("api")] public ApiSection Api { get; init; } = new();
    [JsonPropertyName("models")] public ModelsSection Models { get; init; } = new();
    [JsonPropertyName("retraining")] public RetrainingSection Retraining { get; init; } = new();

    public sealed record StorageSection
    {
        [JsonPropertyName("connection_string")] public string ConnectionString { get; init; } = StorageDefaults.AzuriteConnectionString;
        [JsonPropertyName("name_prefix")] public string NamePrefix { get; init; } = "ca";

        public PipelineStorageOptions ToOptions() => new() { ConnectionString = ConnectionString, NamePrefix = NamePrefix };
    }

    public sealed record ApiSection
    {
        /// <summary>Key required (header <c>x-api-key</c>) on admin routes locally; Functions keys do it in Azure.</summary>
        [JsonPropertyName("admin_key")] public string? AdminKey { get; init; }
        /// <summary>When false, predictions need the key too.</summary>
        [JsonPropertyName("predictions_open")] public bool PredictionsOpen { get; init; } = true;
        [JsonPropertyName("max_body_bytes")] public int MaxBodyBytes { get; init; } = 1 << 20;
    }

    public sealed record ModelSection
    {
        [JsonPropertyName("name")] public required string Name { get; init; }
        [JsonPropertyName("metric")] public required string Metric { get; init; }
        [JsonPropertyName("higher_is_better")] public bool HigherIsBetter { get; init; } = true;
        /// <summary>Churn: probability at or above which a user is labelled churned.</summary>
        [JsonPropertyName("threshold")] public double Threshold { get; init; } = 0.5;
        [JsonPropertyName("grid")] public Dictionary<string, IReadOnlyList<JsonElement>> Grid { get; init; } = [];
    }

    public sealed record ModelsSection
    {
        [JsonPropertyName("events")] public ModelSection Events { get; init; } = new() { Name = "next-event", Metric = "accuracy" };
        [JsonPropertyName("churn")] public ModelSection Churn { get; init; } = new() { Name = "churn", Metric = "roc_auc" };

        public ModelSection For(PredictionTask task) => task == PredictionTask.Events ? Events : Churn;
    }

    public sealed record RetrainingSection
    {
        /// <summary>Six-field cron (seconds first), as Azure Functions timer triggers use.</summary>
        [JsonPropertyName("cron")] public string Cron { get; init; } = "0 0 3 * * *";
        [JsonPropertyName("source")] public string? Source { get; init; }
        [JsonPropertyName("tasks")] public IReadOnlyList<string> Tasks { get; init; } = ["events"];
    }

    /// <summary>Reads the file; a missing file or bad JSON is an <see cref="InvalidInputException"/> naming it.</summary>
    public static PipelineConfig Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<PipelineConfig>(File.ReadAllText(path))
                   ?? throw new InvalidInputException($"{path} holds null.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read pipeline config {path}: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"Pipeline config {path} is invalid: {e.Message}", e);
        }
    }
}
