using System.Text.Json.Serialization;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Configuration;
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
    [JsonPropertyName("workers")] public WorkersSection Workers { get; init; } = new();
    [JsonPropertyName("prepare")] public PrepareSection Prepare { get; init; } = new();
    [JsonPropertyName("scoring")] public ScoringSection Scoring { get; init; } = new();
    [JsonPropertyName("serving")] public ServingSection Serving { get; init; } = new();
    /// <summary>Folder of the model configs (<c>rnn.json</c>, <c>transformer.json</c>).</summary>
    [JsonPropertyName("model_configs")] public string ModelConfigDirectory { get; init; } = "config/nn";

    /// <summary>The folder relative paths in the config are resolved against (set by <see cref="Load"/>): the
    /// repository root for <c>config/pipeline.json</c>.</summary>
    [JsonIgnore] public string RootDirectory { get; init; } = ".";

    public sealed record StorageSection
    {
        /// <summary>Used unless an account name or endpoints are set (identity-based access).</summary>
        [JsonPropertyName("connection_string")] public string ConnectionString { get; init; } = StorageDefaults.AzuriteConnectionString;
        [JsonPropertyName("name_prefix")] public string NamePrefix { get; init; } = "ca";

        /// <summary>Identity-based access (Azure: from <c>AzureWebJobsStorage__accountName</c> etc.): the account, or
        /// its service endpoints, signed in to with DefaultAzureCredential.</summary>
        [JsonPropertyName("account_name")] public string? AccountName { get; init; }
        [JsonPropertyName("blob_service_uri")] public Uri? BlobServiceUri { get; init; }
        [JsonPropertyName("table_service_uri")] public Uri? TableServiceUri { get; init; }
        [JsonPropertyName("queue_service_uri")] public Uri? QueueServiceUri { get; init; }
        /// <summary>Client id of the user-assigned managed identity to sign in as.</summary>
        [JsonPropertyName("managed_identity_client_id")] public string? ManagedIdentityClientId { get; init; }

        public PipelineStorageOptions ToOptions() => StorageConnection.ToOptions(this);
    }

    public sealed record ApiSection
    {
        /// <summary>Key required (header <c>x-api-key</c>) on admin routes locally; Functions keys do it in Azure.</summary>
        [JsonPropertyName("admin_key")] public string? AdminKey { get; init; }
        /// <summary>When false, predictions need the key too.</summary>
        [JsonPropertyName("predictions_open")] public bool PredictionsOpen { get; init; } = true;
        [JsonPropertyName("max_body_bytes")] public int MaxBodyBytes { get; init; } = 1 << 20;
    }

    /// <summary>Per task: the registry name and the default model config. Everything about training (grid, ranking
    /// metric, churn threshold) lives in the model config, not here.</summary>
    public sealed record ModelSection
    {
        [JsonPropertyName("name")] public required string Name { get; init; }
        /// <summary>Model config name: <c>{model_configs}/{model}.json</c> (e.g. <c>rnn</c>, <c>transformer</c>).</summary>
        [JsonPropertyName("model")] public string Model { get; init; } = "rnn";
        /// <summary>The GA4 signals this task's runs read (the prepare option <c>signals</c>: <c>recommended</c> or
        /// names separated by commas; empty: event names only). A run's <c>overrides.prepare</c> keys replace these.</summary>
        [JsonPropertyName("signals")] public string Signals { get; init; } = "";
        /// <summary>The prepare option <c>signal_dropout</c> for this task's runs (null: none).</summary>
        [JsonPropertyName("signal_dropout")] public double? SignalDropout { get; init; }

        /// <summary>This task's prepare options before a run's <c>overrides.prepare</c>: the keys set above, as in
        /// <c>config/prepare.json</c> (checked by the same rules, <paramref name="key"/> naming the section).</summary>
        public System.Text.Json.Nodes.JsonObject PrepareDefaults(string key)
        {
            var json = new System.Text.Json.Nodes.JsonObject();
            if (Signals.Length > 0) json["signals"] = Signals;
            if (SignalDropout is { } dropout) json["signal_dropout"] = dropout;
            PrepareOptionsFile.Parse(json.ToJsonString(), $"Pipeline config '{key}'");
            return json;
        }
    }

    public sealed record ModelsSection
    {
        [JsonPropertyName("events")] public ModelSection Events { get; init; } = new() { Name = "next-event" };
        [JsonPropertyName("churn")] public ModelSection Churn { get; init; } = new() { Name = "churn" };

        public ModelSection For(PredictionTask task) => task == PredictionTask.Events ? Events : Churn;

        /// <summary>The config key of <see cref="For"/>(<paramref name="task"/>), for messages.</summary>
        public static string KeyOf(PredictionTask task) => task == PredictionTask.Events ? "models:events" : "models:churn";
    }

    public sealed record RetrainingSection
    {
        /// <summary>Six-field cron (seconds first), as Azure Functions timer triggers use.</summary>
        [JsonPropertyName("cron")] public string Cron { get; init; } = "0 0 3 * * *";
        /// <summary>What the timer trains on: by default the generated data <c>ca run</c> writes (never the shared
        /// test data).</summary>
        [JsonPropertyName("source")] public string Source { get; init; } = DefaultDataFolder;
        [JsonPropertyName("tasks")] public IReadOnlyList<string> Tasks { get; init; } = ["events"];
    }

    /// <summary>The nightly batch scoring: started by the retraining timer right after it starts the retraining
    /// runs; each scoring run waits until no training run is active, then scores with the production model.</summary>
    public sealed record ScoringSection
    {
        /// <summary>Off by default: scoring every user each night is a cost to opt into.</summary>
        [JsonPropertyName("after_retraining")] public bool AfterRetraining { get; init; }
        /// <summary>What to score; empty: the retraining source.</summary>
        [JsonPropertyName("source")] public string Source { get; init; } = "";
        /// <summary>Tasks to score (<c>events</c>, <c>churn</c>); empty: the retraining tasks.</summary>
        [JsonPropertyName("tasks")] public IReadOnlyList<string> Tasks { get; init; } = [];
        /// <summary>User shards (one read and one score activity each); 0: <c>prepare.shards</c>.</summary>
        [JsonPropertyName("shards")] public int Shards { get; init; }
        /// <summary>Next event: events listed per user.</summary>
        [JsonPropertyName("top")] public int Top { get; init; } = 3;
        /// <summary>How often a nightly scoring run checks whether the training runs have ended.</summary>
        [JsonPropertyName("wait_poll_seconds")] public int WaitPollSeconds { get; init; } = 300;
    }

    /// <summary>How the HTTP predict routes batch concurrent requests (read by the serving adapter).</summary>
    public sealed record ServingSection
    {
        /// <summary>Concurrent requests share forward passes; false: one pass per request, one at a time.</summary>
        [JsonPropertyName("batching")] public bool Batching { get; init; } = true;
        /// <summary>The most sessions in one forward pass.</summary>
        [JsonPropertyName("max_batch_sessions")] public int MaxBatchSessions { get; init; } = 64;
        /// <summary>The longest a request waits for company once requests overlap (a lone request never waits); 0-1 ms.</summary>
        [JsonPropertyName("max_batch_wait_ms")] public double MaxBatchWaitMs { get; init; } = 0.5;

        /// <exception cref="InvalidInputException">A value out of its range.</exception>
        public (bool Batching, int MaxBatchSessions, TimeSpan MaxBatchWait) Validated() => (Batching,
            MaxBatchSessions is >= 1 and <= 4096
                ? MaxBatchSessions
                : throw new InvalidInputException($"serving.max_batch_sessions must be between 1 and 4096, not {MaxBatchSessions}."),
            MaxBatchWaitMs is >= 0 and <= 1
                ? TimeSpan.FromMilliseconds(MaxBatchWaitMs)
                : throw new InvalidInputException($"serving.max_batch_wait_ms must be between 0 and 1, not {MaxBatchWaitMs}."));
    }

    /// <summary>How a run's prepare is cut up.</summary>
    public sealed record PrepareSection
    {
        /// <summary>User shards: 1 reads the whole source in one activity; N &gt; 1 runs N activities that each keep
        /// the users hashing to them (memory bounded by a shard) and merges their parts. Same dataset either way.</summary>
        [JsonPropertyName("shards")] public int Shards { get; init; } = 1;

        /// <exception cref="InvalidInputException">Not between 1 and <see cref="Core.Events.UserShard.MaxCount"/>.</exception>
        public int ValidShards() => Shards is >= 1 and <= Core.Events.UserShard.MaxCount
            ? Shards
            : throw new InvalidInputException(
                $"prepare.shards must be between 1 and {Core.Events.UserShard.MaxCount}, not {Shards}.");
    }

    /// <summary>The trial workers: how many processes the local host starts, and how work is leased, retried and
    /// timed out (the same settings the worker container reads in Azure).</summary>
    public sealed record WorkersSection
    {
        /// <summary>Worker processes <c>ca serve</c> and <c>ca run</c> start (Azure: the Container Apps job scales).</summary>
        [JsonPropertyName("count")] public int Count { get; init; } = 2;
        /// <summary>Torch intra-op threads per worker process (when the model config's <c>num_threads</c> is 0).</summary>
        [JsonPropertyName("torch_threads")] public int TorchThreads { get; init; } = 1;
        /// <summary>Seconds a taken work item stays invisible; renewed while it is worked on.</summary>
        [JsonPropertyName("lease_seconds")] public int LeaseSeconds { get; init; } = 60;
        /// <summary>Deliveries of one item before it is recorded failed for good.</summary>
        [JsonPropertyName("max_attempts")] public int MaxAttempts { get; init; } = 3;
        /// <summary>Longest one trial attempt may run.</summary>
        [JsonPropertyName("trial_timeout_minutes")] public int TrialTimeoutMinutes { get; init; } = 120;
        /// <summary>Without a completion for this long, the orchestration reads the trial records instead.</summary>
        [JsonPropertyName("check_interval_seconds")] public int CheckIntervalSeconds { get; init; } = 60;
        /// <summary>Work not finished this long after dispatch is recorded failed (e.g. no worker runs at all).</summary>
        [JsonPropertyName("deadline_minutes")] public int DeadlineMinutes { get; init; } = 24 * 60;
        /// <summary>A worker with an empty queue for this long exits; 0: never (the local worker processes). The
        /// Container Apps job sets it (infra/: CA__workers__exit_when_idle_seconds), so an execution ends once the
        /// trials are done instead of holding its GPU until the replica timeout.</summary>
        [JsonPropertyName("exit_when_idle_seconds")] public int ExitWhenIdleSeconds { get; init; }

        public Workers.TrialWorkerOptions ToWorkerOptions() => new()
        {
            Lease = TimeSpan.FromSeconds(Positive(LeaseSeconds, "workers.lease_seconds")),
            MaxAttempts = Positive(MaxAttempts, "workers.max_attempts"),
            TrialTimeout = TimeSpan.FromMinutes(Positive(TrialTimeoutMinutes, "workers.trial_timeout_minutes")),
            ExitWhenIdle = ExitWhenIdleSeconds switch
            {
                0 => null,
                > 0 => TimeSpan.FromSeconds(ExitWhenIdleSeconds),
                _ => throw new InvalidInputException($"workers.exit_when_idle_seconds must be 0 (never) or positive (got {ExitWhenIdleSeconds})."),
            },
        };

        public Training.WorkWait ToWorkWait() => new(
            TimeSpan.FromSeconds(Positive(CheckIntervalSeconds, "workers.check_interval_seconds")),
            TimeSpan.FromMinutes(Positive(DeadlineMinutes, "workers.deadline_minutes")));

        private static int Positive(int value, string key) => value > 0
            ? value
            : throw new InvalidInputException($"{key} must be a positive whole number, not {value}.");
    }

    /// <summary>The generated default data (<c>ca run</c> writes it there with <c>ca synth</c>).</summary>
    public const string DefaultDataFolder = ".data/default";

    /// <summary>Reads the file with its layers (<see cref="PipelineConfigLoader"/>: <c>pipeline.local.json</c>, app
    /// settings, <c>CA__</c> environment variables, <paramref name="commandLine"/> <c>section:key=value</c> pairs). A
    /// missing file, bad JSON, an unknown key or a bad value is an <see cref="InvalidInputException"/> naming it.
    /// Relative paths in it (<c>model_configs</c>, a local <c>retraining.source</c>) are relative to the folder that
    /// holds the config's folder: the repository root for <c>config/pipeline.json</c>.</summary>
    public static PipelineConfig Load(string path, IReadOnlyList<string>? commandLine = null) =>
        PipelineConfigLoader.Load(path, commandLine: commandLine);
}
