using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Cli.Commands;

/// <summary>
/// <c>ca run</c>: the main job end to end on this machine. Starts Azurite if needed, generates the default data if it
/// is missing, starts the local host, trains a next-event model through the same launcher the HTTP API uses (progress
/// on stderr), prints test metrics next to the baselines, and asks the HTTP API for a sample prediction. Runs, trials,
/// checkpoints and plots stay in storage.
/// </summary>
public static class RunCommand
{
    /// <summary>The default data: small enough that the whole run takes a few minutes on 2 cores.</summary>
    public const long DefaultDataEvents = 200_000;
    public const int DefaultDataSeed = 42;

    /// <summary>A small grid (4 trials, few epochs) over the events model config: a quick run, still a real search.</summary>
    private static readonly JsonObject QuickGrid = new()
    {
        ["learning_rate"] = new JsonArray(0.003, 0.01),
        ["hidden_size"] = new JsonArray(32, 64),
    };
    private static readonly JsonObject QuickSettings = new()
    {
        ["model_training_params.num_epochs"] = 6,
        ["pipeline_params.early_stopping_patience"] = 2,
    };

    /// <summary>A session to show a prediction for (GA4 event names the default data has).</summary>
    private static readonly string[] SampleSession = ["session_start", "page_view", "view_item"];

    public static Command Create()
    {
        var json = SharedOptions.Json();
        var config = ServeCommand.PipelineConfigOption();
        var command = new Command("run", "Train, evaluate, register and serve a next-event model on the default data, locally (Azurite).")
        {
            json, config,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var clock = Stopwatch.StartNew();
            var configFile = parsed.GetValue(config)!;
            var root = LocalStack.RootOf(configFile);
            var pipeline = LocalStack.LoadConfig(configFile, storage: null);
            await LocalStack.EnsureAzuriteAsync(pipeline.Storage.ConnectionString, root, cancellationToken);
            var data = Path.GetFullPath(PipelineConfig.DefaultDataFolder, root);
            await EnsureDefaultDataAsync(data, cancellationToken);

            Console.Error.WriteLine("Starting the local host (Durable engine on Azurite, HTTP API)");
            await using var server = await LocalStack.StartServerAsync(pipeline, port: 0, retrainingTimer: false, cancellationToken);
            var client = server.Services.GetRequiredService<DurableTaskClient>();
            var input = ModelConfigs.Resolve(pipeline,
                new TrainingRequest(data, PredictionTask.Events, Settings: QuickSettings, Grid: QuickGrid));
            var runId = await server.Services.GetRequiredService<TrainingLauncher>().StartAsync(client, input, cancellationToken: cancellationToken);
            Console.Error.WriteLine($"Run {runId} started: {server.Address}api/training/{runId}");

            var done = await FollowAsync(client, runId, cancellationToken);
            if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            {
                var run = await server.Services.GetRequiredService<RunStore>().GetRunAsync(runId, cancellationToken);
                Console.Error.WriteLine($"error: run {runId} {done.RuntimeStatus}: {run?.Error ?? done.FailureDetails?.ErrorMessage}");
                return ExitCodes.Failure;
            }
            var result = done.ReadOutputAs<TrainingResult>()!;
            var version = await server.Services.GetRequiredService<ModelRegistry>()
                .GetVersionAsync(result.ModelName, result.ModelVersion, cancellationToken);
            var prediction = await PredictAsync(server.Address, pipeline, cancellationToken);

            if (parsed.GetValue(json))
            {
                Console.WriteLine(new JsonObject
                {
                    ["run_id"] = runId,
                    ["model"] = new JsonObject
                    {
                        ["name"] = result.ModelName,
                        ["version"] = result.ModelVersion,
                        ["stage"] = version?.Stage.ToString(),
                    },
                    ["test"] = JsonSerializer.SerializeToNode(result.Test),
                    ["baselines"] = JsonSerializer.SerializeToNode(result.Baselines),
                    ["prediction"] = prediction,
                }.ToJsonString());
            }
            else
            {
                Console.WriteLine($"Run {runId}: {result.TrialsSucceeded} trials ({result.TrialsFailed} failed), best {result.BestTrialId}");
                Console.WriteLine($"Model {result.ModelName} v{result.ModelVersion}: {version?.Stage} ({result.PromotionReason})");
                Console.Write(MetricsTable(result));
                Console.WriteLine($"Sample prediction after [{string.Join(", ", SampleSession)}]: {prediction?.ToJsonString()}");
                Console.WriteLine($"Artifacts: container {pipeline.Storage.NamePrefix}artifacts, runs/{runId}/ (Azurite); {clock.Elapsed.TotalSeconds:0} s in all");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task EnsureDefaultDataAsync(string folder, CancellationToken cancellationToken)
    {
        if (Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.parquet").Any()) return;
        var options = new SyntheticExportOptions { OutputFolder = folder, Events = DefaultDataEvents, Seed = DefaultDataSeed };
        await CommandLine.WithProgressAsync($"Generating the default data (~{DefaultDataEvents:N0} events) in {folder}", report =>
            SyntheticExport.WriteAsync(options, new Progress<long>(n => report($"{n:N0} events")), cancellationToken));
    }

    /// <summary>Polls the run's custom status until it ends, showing stage, trials and the best so far.</summary>
    private static Task<OrchestrationMetadata> FollowAsync(DurableTaskClient client, string runId, CancellationToken cancellationToken) =>
        CommandLine.WithProgressAsync("Training", async report =>
        {
            var started = Stopwatch.StartNew();
            string? last = null;
            while (true)
            {
                var instance = await client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken);
                var progress = instance?.ReadCustomStatusAs<TrainingProgress>();
                var text = progress == null
                    ? "starting"
                    : $"{progress.Stage}: trials {progress.TrialsDone}/{progress.TrialsTotal}" +
                      (progress.TrialsFailed > 0 ? $" ({progress.TrialsFailed} failed)" : "") +
                      (progress.BestValidationMetric is { } best ? $", best {progress.BestTrialId} val {best:0.0000}" : "");
                if (text != last && Console.IsErrorRedirected)
                    Console.Error.WriteLine($"  [{started.Elapsed.TotalSeconds,4:0} s] {text}");
                else if (!Console.IsErrorRedirected)
                    report($"[{started.Elapsed.TotalSeconds:0} s] {text}");
                last = text;
                // Checked after the line above, so the last state (e.g. "done: trials 4/4") is always shown.
                if (instance is { IsCompleted: true }) return instance;
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        });

    private static async Task<JsonNode?> PredictAsync(Uri address, PipelineConfig pipeline, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/predict/next-event")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { events = SampleSession, top = 3 }), Encoding.UTF8, "application/json"),
        };
        if (pipeline.Api.AdminKey is { Length: > 0 } key) request.Headers.Add(PipelineApi.ApiKeyHeader, key);
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonNode>(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"The prediction request failed ({(int)response.StatusCode}): {body?.ToJsonString()}");
        return body;
    }

    /// <summary>Model and baselines side by side on the run's test split.</summary>
    private static string MetricsTable(TrainingResult result)
    {
        string[] shown = ["accuracy", "top3_accuracy", "mrr", "macro_f1"];
        var text = new StringBuilder();
        text.AppendLine($"{"test",-24}" + string.Concat(shown.Select(m => $"{m,15}")));
        void Row(string name, IReadOnlyDictionary<string, double> metrics) => text.AppendLine(
            $"{name,-24}" + string.Concat(shown.Select(m => metrics.TryGetValue(m, out var v) ? $"{v,15:0.0000}" : $"{"-",15}")));
        Row("model", result.Test);
        foreach (var (name, metrics) in result.Baselines) Row(name, metrics);
        return text.ToString();
    }
}
