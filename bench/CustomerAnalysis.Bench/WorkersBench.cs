using System.Diagnostics;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.LocalHost;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Serving;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Bench;

/// <summary>
/// <c>bench workers</c>: trials per minute of one grid, trained (a) in this process by <c>ca train</c>'s grid search
/// (trials in parallel on threads, one torch thread each), (b) by the pipeline with 1 trial worker process and (c) with
/// 2, on loopback Azurite. The pipeline figures include preparing the dataset, the evaluation and the orchestration.
/// </summary>
internal static class WorkersBench
{
    public static async Task<int> RunAsync(long events, int trials, int epochs)
    {
        var folder = Directory.CreateTempSubdirectory("ca-workers-bench-").FullName;
        try
        {
            var data = Path.Combine(folder, "export");
            await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = data, Events = events, Seed = 42 });
            var root = ServeBench.FindRepoRoot();
            var model = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "config", "nn", "rnn.json")))!.AsObject();
            model["model_training_params"]!["num_epochs"] = epochs;
            model["model_training_params"]!["device"] = "cpu";
            model["grid_search_params"] = new JsonObject
            {
                ["learning_rate"] = new JsonArray(Enumerable.Range(0, trials).Select(i => (JsonNode)JsonValue.Create(0.001 + 0.0005 * i)).ToArray()),
            };
            Directory.CreateDirectory(Path.Combine(folder, "config", "nn"));
            File.WriteAllText(Path.Combine(folder, "config", "nn", "rnn.json"), model.ToJsonString());
            Console.WriteLine($"data: ~{events:N0} synthetic events; {trials} trials x {epochs} epochs; {Environment.ProcessorCount} cores");

            var config = NnConfig.Parse(model.ToJsonString());
            var table = await EventSources.Open(data, EventSourceOptions.FromEnvironment()).ReadTableAsync();
            var prepared = DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
            var clock = Stopwatch.StartNew();
            GridSearch.Run(prepared, config, PredictionScoring.ValidationMetricFor(config), new GridSearchRun());
            Report("in process (ca train grid search)", trials, clock.Elapsed.TotalSeconds);

            foreach (var workers in new[] { 1, 2 })
                Report($"pipeline, {workers} worker process(es)", trials, await PipelineAsync(folder, data, workers));
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Report(string what, int trials, double seconds) =>
        Console.WriteLine($"  {what,-36} {seconds,7:0.0} s  {trials / seconds * 60,6:0.0} trials/min");

    private static async Task<double> PipelineAsync(string folder, string data, int workers)
    {
        var pipeline = new JsonObject
        {
            ["storage"] = new JsonObject { ["name_prefix"] = $"b{Guid.NewGuid():N}"[..12] },
            ["task_hub"] = $"bench{Guid.NewGuid():N}"[..16],
            ["model_configs"] = "config/nn",
            ["workers"] = new JsonObject { ["count"] = workers, ["check_interval_seconds"] = 5 },
        };
        var path = Path.Combine(folder, "config", "pipeline.json");
        File.WriteAllText(path, pipeline.ToJsonString());
        var config = PipelineConfig.Load(path);
        await using var host = await LocalPipelineHost.StartAsync(config,
            new LocalHostOptions(Port: 0, RetrainingTimer: false, new TrialWorkerProcessOptions(workers, path)),
            services => services.AddTorchServing());
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var input = ModelConfigs.Resolve(config, new TrainingRequest(data, PredictionTask.Events));
        var clock = Stopwatch.StartNew();
        var runId = await host.Services.GetRequiredService<TrainingLauncher>().StartAsync(client, input);
        var done = await client.WaitForEndAsync(runId);
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            throw new InvalidOperationException($"Bench run {runId} {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        return clock.Elapsed.TotalSeconds;
    }
}
