using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Learning;
using CustomerAnalysis.LocalHost;
using CustomerAnalysis.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Bench;

/// <summary>
/// <c>ca serve</c>'s server in this process (Kestrel on loopback, Durable on Azurite, the real TorchSharp plugins):
/// (1) Durable overhead: orchestration wall time minus the time spent inside prepare, trials and evaluation, for 1 and
/// N one-epoch trials run one at a time (skipped with <c>--overhead false</c>); (2) <c>POST /api/predict/next-event</c>
/// (or with <c>--task churn</c>, <c>POST /api/predict/churn</c>) latency and throughput at concurrency 1 and 32
/// against the trained model (promoted with force), measured by a client in another process (<see cref="LoadClient"/>).
/// <c>--combine none|blend</c> sets the model's <c>combine_with_trees</c> (default: the task's config's). Requests are
/// bounded in count and in time.
/// </summary>
internal static class ServeBench
{

    public static async Task<int> RunAsync(long events, int requests, int seconds, int trials, bool overhead, double maxWaitMs, bool batching,
        PredictionTask task = PredictionTask.Events, string? combine = null)
    {
        if (combine is not (null or "none" or "blend"))
            throw new ArgumentException($"--combine must be none or blend, got '{combine}'");
        var run = new BenchRun(task, combine);
        var route = task == PredictionTask.Churn ? LoadClient.Route.Churn : LoadClient.Route.NextEvent;
        var data = Directory.CreateTempSubdirectory("ca-serve-bench-").FullName;
        try
        {
            await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = data, Events = events, Seed = 42 });
            var root = FindRepoRoot();
            var config = new PipelineConfig
            {
                Storage = new() { NamePrefix = $"b{Guid.NewGuid():N}"[..12] },
                ModelConfigDirectory = Path.Combine(root, "config", "nn"),
                Api = new() { AdminKey = "bench" },
            };
            config = config with { TaskHub = $"bench{Guid.NewGuid():N}"[..16], Workers = new() { CheckIntervalSeconds = 5 } };
            var timed = new TimedPlugins(new TorchTrialRunner(new LearningOptions(Environment.ProcessorCount)),
                new ServingOptions { MaxBatchWait = TimeSpan.FromMilliseconds(maxWaitMs), Batching = batching });
            // One in-process trial worker: trials go through the queue one at a time, as with one worker process.
            await using var server = await LocalPipelineHost.StartAsync(config, new LocalHostOptions(Port: 0, RetrainingTimer: false),
                services => timed.Register(services).AddTrialWorker(config.Storage.ToOptions()));
            Console.WriteLine($"data: ~{events:N0} synthetic events; server {server.Address()}; {Environment.ProcessorCount} cores");

            Console.WriteLine("warm-up run (JIT, TorchSharp native load, first queue polls; not counted):");
            var trained = await OverheadAsync(server, config, data, timed, 1, run);
            if (overhead)
            {
                // A run's fixed cost varies by a second or more with queue-poll phase and load: the medians of
                // alternating 1-trial and N-trial runs, so the per-trial figure is not one run's noise.
                var ones = new List<double>();
                var manys = new List<double>();
                for (var repeat = 0; repeat < OverheadRepeats; repeat++)
                {
                    ones.Add((await OverheadAsync(server, config, data, timed, 1, run)).Overhead);
                    manys.Add((await OverheadAsync(server, config, data, timed, trials, run)).Overhead);
                }
                var one = Median(ones);
                var many = Median(manys);
                Console.WriteLine($"durable overhead (medians of {OverheadRepeats}): 1 trial {one:0.00} s, {trials} trials {many:0.00} s " +
                                  $"=> fixed ~{one:0.00} s per run, ~{(many - one) / (trials - 1) * 1000:0} ms per extra trial");
                trained = (many, trained.Result);
            }
            // The gate holds back a model that does not beat its baselines (one epoch on synthetic data rarely does):
            // promoted with force, as `ca run` does, so the routes answer real predictions instead of 404.
            await ForcePromoteAsync(server.Address(), config, trained.Result);
            Console.WriteLine($"serving {trained.Result.ModelName} v{trained.Result.ModelVersion} (promoted with force), " +
                              (batching ? $"batching (wait up to {maxWaitMs} ms once requests overlap)" : "one pass per request (batching off)") + "; " +
                              $"load average {LoadAverage()}");

            // The load comes from another process (LoadClient), as an outside client's would: its HTTP stack's CPU
            // shows up on the same 2 cores, but not in the server's GC, thread pool or JIT.
            await LoadClient.RunChildAsync(server.Address(), 1, 300, 10, route); // warm-up: JIT, model load, connections
            await LoadClient.RunChildAsync(server.Address(), 32, 3000, 10, route);
            var served = (await server.Services.GetRequiredService<ProductionModelCache>().GetAsync(trained.Result.ModelName))!;
            Console.WriteLine($"model: {await BlendOfAsync(server, trained.Result)}");
            var statistics = batching ? served.Predictor as IBatchStatistics : null;
            foreach (var concurrency in new[] { 1, 32 })
            {
                var (passes, calls) = (statistics?.Passes ?? 0, statistics?.Calls ?? 0);
                var serverCpu = ProcessCpuSeconds();
                var load = await LoadClient.RunChildAsync(server.Address(), concurrency, requests, seconds, route);
                serverCpu = ProcessCpuSeconds() - serverCpu;
                var perPass = statistics is null ? "" : $", {(double)(statistics.Calls - calls) / Math.Max(1, statistics.Passes - passes):0.0} requests per pass";
                Console.WriteLine($"predict/{LoadClient.Name(route)} c={concurrency,2}: {load.Requests,6} requests in {load.Seconds:0.0} s = {load.Requests / load.Seconds,7:0} req/s, " +
                                  $"p50 {load.P50:0.00} ms, p99 {load.P99:0.00} ms, max {load.Max:0.00} ms{perPass}; load average {LoadAverage()}");
                // CPU per request does not depend on how busy the shared machine is: 2 cores / (server + client) is
                // what an otherwise idle 2-core machine could do.
                var cpuPerRequest = (serverCpu + load.CpuSeconds) / load.Requests;
                Console.WriteLine($"    CPU per request: server {serverCpu / load.Requests * 1e6:0} µs, client {load.CpuSeconds / load.Requests * 1e6:0} µs " +
                                  $"=> at most {Environment.ProcessorCount / cpuPerRequest:0} req/s on {Environment.ProcessorCount} otherwise idle cores");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Runs one events training with <paramref name="trials"/> one-epoch trials; returns wall time minus
    /// the time spent inside the plugins.</summary>
    private const int OverheadRepeats = 5;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>What the bench trains and serves: the task, and <c>combine_with_trees</c> when set.</summary>
    private sealed record BenchRun(PredictionTask Task, string? Combine);

    private static async Task<(double Overhead, TrainingResult Result)> OverheadAsync(WebApplication server, PipelineConfig config, string data,
        TimedPlugins timed, int trials, BenchRun run)
    {
        var rates = new JsonArray(Enumerable.Range(0, trials).Select(i => (JsonNode)JsonValue.Create(0.001 * (i + 1))).ToArray());
        var settings = new JsonObject { ["model_training_params.num_epochs"] = 1 };
        if (run.Combine is { } combine) settings["pipeline_params.combine_with_trees"] = combine;
        var input = ModelConfigs.Resolve(config, new TrainingRequest(data, run.Task,
            Settings: settings,
            Grid: new JsonObject { ["learning_rate"] = rates }));
        var client = server.Services.GetRequiredService<DurableTaskClient>();
        timed.Reset();
        var clock = Stopwatch.StartNew();
        var runId = await server.Services.GetRequiredService<TrainingLauncher>().StartAsync(client, input);
        var done = await client.WaitForEndAsync(runId, getInputsAndOutputs: true);
        var wall = clock.Elapsed.TotalSeconds;
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            throw new InvalidOperationException($"Bench run {runId} {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        var inside = timed.Seconds;
        Console.WriteLine($"  run with {trials} trial(s): wall {wall:0.00} s, inside plugins {inside:0.00} s " +
                          $"(prepare+trials+evaluate), overhead {wall - inside:0.00} s");
        return (wall - inside, done.ReadOutputAs<TrainingResult>()!);
    }

    private static async Task ForcePromoteAsync(Uri address, PipelineConfig config, TrainingResult result)
    {
        using var http = new HttpClient { BaseAddress = address };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/models/{result.ModelName}/versions/{result.ModelVersion}/stage")
        {
            Content = new StringContent("""{"stage": "Production", "force": true}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(PipelineApi.ApiKeyHeader, config.Api.AdminKey);
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Promoting {result.ModelName} v{result.ModelVersion} failed ({(int)response.StatusCode}): " +
                                                await response.Content.ReadAsStringAsync());
    }

    /// <summary>Whether the served version is blended with trees, and its weight: read from its checkpoint, so the
    /// figures say what was measured.</summary>
    private static async Task<string> BlendOfAsync(WebApplication server, TrainingResult result)
    {
        var registry = server.Services.GetRequiredService<CustomerAnalysis.Pipeline.Storage.ModelRegistry>();
        var version = (await registry.GetProductionAsync(result.ModelName))!;
        var path = Path.GetTempFileName();
        try
        {
            await server.Services.GetRequiredService<CustomerAnalysis.Pipeline.Storage.ArtifactStore>().DownloadToFileAsync(version.CheckpointBlob, path);
            var checkpoint = CustomerAnalysis.Modeling.Checkpoints.ModelCheckpoint.Read(path);
            using var model = checkpoint.Model;
            return checkpoint.TreesBlend is { } blend
                ? $"{checkpoint.Task} blended with trees (model weight {blend.ModelWeight:0.00})"
                : $"{checkpoint.Task}, the sequence model alone (no trees)";
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double ProcessCpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>The 1-minute load average (/proc/loadavg): the machine is shared, so each figure says how busy it was.</summary>
    internal static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    internal static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CustomerAnalysis.sln"))) return dir.FullName;
        throw new InvalidOperationException("CustomerAnalysis.sln not found above the bench binaries.");
    }

    /// <summary>The real plugins, each timed, so the orchestration's own cost can be told apart.</summary>
    private sealed class TimedPlugins(ITrialRunner runner, ServingOptions serving)
    {
        private long _ticks;

        public double Seconds => TimeSpan.FromTicks(Interlocked.Read(ref _ticks)).TotalSeconds;
        public void Reset() => Interlocked.Exchange(ref _ticks, 0);

        public IServiceCollection Register(IServiceCollection services) => services
            .AddSingleton<IDatasetPreparer>(new Preparer(this)).AddSingleton<ITrialRunner>(new Runner(this, runner))
            .AddSingleton<IEvaluator>(new Evaluator(this)).AddTorchServing(serving);

        private async Task<T> TimeAsync<T>(Func<Task<T>> work)
        {
            var start = Stopwatch.GetTimestamp();
            try { return await work(); }
            finally { Interlocked.Add(ref _ticks, Stopwatch.GetElapsedTime(start).Ticks); }
        }

        private sealed class Preparer(TimedPlugins timer) : IDatasetPreparer
        {
            private readonly ExportDatasetPreparer _inner = new();
            public Task<PreparedDataset> PrepareAsync(string source, PredictionTask task, PrepareOptions options, CancellationToken cancellationToken) =>
                timer.TimeAsync(() => _inner.PrepareAsync(source, task, options, cancellationToken));
            public void CheckSource(string source) => _inner.CheckSource(source);
        }

        /// <summary>One trial at a time (the engine dispatches them all at once), timed once it holds the gate, so
        /// the wall time is prepare + Σ trials + evaluate + the orchestration's own cost.</summary>
        private sealed class Runner(TimedPlugins timer, ITrialRunner inner) : ITrialRunner, IDisposable
        {
            private readonly SemaphoreSlim _gate = new(1, 1);

            public void Dispose() => _gate.Dispose();

            public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
            {
                await _gate.WaitAsync(cancellationToken);
                try { return await timer.TimeAsync(() => inner.RunAsync(request, cancellationToken)); }
                finally { _gate.Release(); }
            }
        }

        private sealed class Evaluator(TimedPlugins timer) : IEvaluator
        {
            private readonly CheckpointEvaluator _inner = new();
            public Task<EvaluationResult> EvaluateAsync(PreparedDataset dataset, string checkpointPath, string? artifactsDirectory, CancellationToken cancellationToken) =>
                timer.TimeAsync(() => _inner.EvaluateAsync(dataset, checkpointPath, artifactsDirectory, cancellationToken));
            public Task<IReadOnlyDictionary<string, double>> ScoreModelAsync(PreparedDataset dataset, string checkpointPath, CancellationToken cancellationToken) =>
                timer.TimeAsync(() => _inner.ScoreModelAsync(dataset, checkpointPath, cancellationToken));
        }
    }
}
