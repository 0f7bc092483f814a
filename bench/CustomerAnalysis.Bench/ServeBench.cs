using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Pipeline;
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
/// N one-epoch trials run one at a time; (2) <c>POST /api/predict/next-event</c> latency and throughput at
/// concurrency 1 and 32 against the promoted model. Requests are bounded in count and in time.
/// </summary>
internal static class ServeBench
{
    private const string Session = """{"events": ["session_start", "page_view", "scroll", "view_item", "page_view", "user_engagement", "view_item", "add_to_cart"], "top": 3}""";

    public static async Task<int> RunAsync(long events, int requests, int seconds, int trials)
    {
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
            var timed = new TimedPlugins(new TorchTrialRunner(new LearningOptions(Environment.ProcessorCount)));
            // One in-process trial worker: trials go through the queue one at a time, as with one worker process.
            await using var server = await LocalPipelineHost.StartAsync(config, new LocalHostOptions(Port: 0, RetrainingTimer: false),
                services => timed.Register(services).AddTrialWorker(config.Storage.ToOptions()));
            Console.WriteLine($"data: ~{events:N0} synthetic events; server {server.Address()}; {Environment.ProcessorCount} cores");

            Console.WriteLine("warm-up run (JIT, TorchSharp native load, first queue polls; not counted):");
            await OverheadAsync(server, config, data, timed, 1);
            var one = await OverheadAsync(server, config, data, timed, 1);
            var many = await OverheadAsync(server, config, data, timed, trials);
            Console.WriteLine($"durable overhead: 1 trial {one:0.00} s, {trials} trials {many:0.00} s " +
                              $"=> fixed ~{one:0.00} s per run, ~{(many - one) / (trials - 1) * 1000:0} ms per extra trial");

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = server.Address() };
            await LoadAsync(http, 1, 200, 10); // warm-up: JIT, model load, connections
            foreach (var concurrency in new[] { 1, 32 })
            {
                var (latencies, wall) = await LoadAsync(http, concurrency, requests, seconds);
                latencies.Sort();
                Console.WriteLine($"predict/next-event c={concurrency,2}: {latencies.Count,6} requests in {wall:0.0} s = {latencies.Count / wall,7:0} req/s, " +
                                  $"p50 {Percentile(latencies, 0.50):0.00} ms, p99 {Percentile(latencies, 0.99):0.00} ms, max {latencies[^1]:0.00} ms");
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
    private static async Task<double> OverheadAsync(WebApplication server, PipelineConfig config, string data,
        TimedPlugins timed, int trials)
    {
        var rates = new JsonArray(Enumerable.Range(0, trials).Select(i => (JsonNode)JsonValue.Create(0.001 * (i + 1))).ToArray());
        var input = ModelConfigs.Resolve(config, new TrainingRequest(data, PredictionTask.Events,
            Settings: new JsonObject { ["model_training_params.num_epochs"] = 1 },
            Grid: new JsonObject { ["learning_rate"] = rates }));
        var client = server.Services.GetRequiredService<DurableTaskClient>();
        timed.Reset();
        var clock = Stopwatch.StartNew();
        var runId = await server.Services.GetRequiredService<TrainingLauncher>().StartAsync(client, input);
        var done = await client.WaitForInstanceCompletionAsync(runId);
        var wall = clock.Elapsed.TotalSeconds;
        if (done.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
            throw new InvalidOperationException($"Bench run {runId} {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage}");
        var inside = timed.Seconds;
        Console.WriteLine($"  run with {trials} trial(s): wall {wall:0.00} s, inside plugins {inside:0.00} s " +
                          $"(prepare+trials+evaluate), overhead {wall - inside:0.00} s");
        return wall - inside;
    }

    /// <summary><paramref name="concurrency"/> loops posting the same session until <paramref name="requests"/> are
    /// done or <paramref name="seconds"/> pass; per-request latency in ms.</summary>
    private static async Task<(List<double> Latencies, double Wall)> LoadAsync(HttpClient http, int concurrency, int requests, int seconds)
    {
        var latencies = new List<double>(requests);
        var remaining = requests;
        var deadline = Stopwatch.StartNew();
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>();
            while (Interlocked.Decrement(ref remaining) >= 0 && deadline.Elapsed.TotalSeconds < seconds)
            {
                var start = Stopwatch.GetTimestamp();
                using var content = new StringContent(Session, Encoding.UTF8, "application/json");
                using var response = await http.PostAsync("api/predict/next-event", content);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"predict answered {(int)response.StatusCode}");
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            lock (latencies) latencies.AddRange(mine);
        })));
        return (latencies, wall.Elapsed.TotalSeconds);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    internal static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CustomerAnalysis.sln"))) return dir.FullName;
        throw new InvalidOperationException("CustomerAnalysis.sln not found above the bench binaries.");
    }

    /// <summary>The real plugins, each timed, so the orchestration's own cost can be told apart.</summary>
    private sealed class TimedPlugins(ITrialRunner runner)
    {
        private long _ticks;

        public double Seconds => TimeSpan.FromTicks(Interlocked.Read(ref _ticks)).TotalSeconds;
        public void Reset() => Interlocked.Exchange(ref _ticks, 0);

        public IServiceCollection Register(IServiceCollection services) => services
            .AddSingleton<IDatasetPreparer>(new Preparer(this)).AddSingleton<ITrialRunner>(new Runner(this, runner))
            .AddSingleton<IEvaluator>(new Evaluator(this)).AddTorchServing();

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
