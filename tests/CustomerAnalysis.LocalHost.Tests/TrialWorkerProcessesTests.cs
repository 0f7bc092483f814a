using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Tests;
using CustomerAnalysis.Pipeline.Workers;
using CustomerAnalysis.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.LocalHost.Tests;

/// <summary>A small generated export and a pipeline config file for worker processes (shared by the tests).</summary>
public sealed class WorkerFixture : IAsyncLifetime
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("ca-workers-").FullName;
    public string Export => Path.Combine(Folder, "export");

    public async Task InitializeAsync() =>
        await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = Export, Events = 30_000, Days = 3, Seed = 7 });

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Writes <c>{folder}/{name}/config/pipeline.json</c> (the workers read the file) and loads it with
    /// <see cref="Settings"/> over it. The file's storage prefix is a decoy that the command-line setting replaces, as
    /// <c>ca run --set storage:name_prefix=...</c> does: workers that read only the file would poll other queues and
    /// the runs would never end.</summary>
    public (string Path, PipelineConfig Config, IReadOnlyList<string> Settings) PipelineConfigFile(string name,
        AzuriteFixture azurite, JsonObject grid, int epochs)
    {
        var root = Path.Combine(Folder, name);
        Directory.CreateDirectory(Path.Combine(root, "config", "nn"));
        var model = JsonNode.Parse(File.ReadAllText(Path.Combine(AzuriteFixture.RepoRoot, "config", "nn", "rnn.json")))!.AsObject();
        model["model_training_params"]!["num_epochs"] = epochs;
        model["model_training_params"]!["device"] = "cpu";
        model["model_init_params"]!["hidden_size"] = 16;
        // Every epoch is run: a trial's length is what the test asks for, not where early stopping cuts it.
        model["pipeline_params"]!["early_stopping_patience"] = epochs;
        model["grid_search_params"] = grid;
        File.WriteAllText(Path.Combine(root, "config", "nn", "rnn.json"), model.ToJsonString());
        var pipeline = new JsonObject
        {
            ["storage"] = new JsonObject { ["connection_string"] = azurite.ConnectionString, ["name_prefix"] = AzuriteFixture.UniqueName("decoy")[..12] },
            ["task_hub"] = AzuriteFixture.UniqueName("hub"),
            ["api"] = new JsonObject { ["admin_key"] = Key },
            ["model_configs"] = "config/nn",
            ["models"] = new JsonObject { ["events"] = new JsonObject { ["name"] = "next-event", ["model"] = "rnn" } },
            ["workers"] = new JsonObject
            {
                ["count"] = 2, ["torch_threads"] = 1, ["lease_seconds"] = 4, ["max_attempts"] = 3,
                ["trial_timeout_minutes"] = 10, ["check_interval_seconds"] = 5, ["deadline_minutes"] = 10,
            },
        };
        var path = Path.Combine(root, "config", "pipeline.json");
        File.WriteAllText(path, pipeline.ToJsonString());
        string[] settings = [$"storage:name_prefix={AzuriteFixture.UniqueName("w")[..12]}"];
        return (path, PipelineConfig.Load(path, settings), settings);
    }

    public const string Key = "worker-test-key";
}

/// <summary>
/// The local host with real trial worker processes (the ca-worker program, TorchSharp training) on Azurite: trials are
/// spread over the processes, a killed worker's trial is run again by another and recorded once, a trial that fails
/// is recorded with its error while the run completes, and a cancelled run leaves nothing running.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TrialWorkerProcessesTests(AzuriteFixture azurite, WorkerFixture data) : IClassFixture<WorkerFixture>
{
    private async Task<(WebApplication Host, HttpClient Http, PipelineConfig Config)> StartAsync(string name, JsonObject grid, int epochs)
    {
        var (path, config, settings) = data.PipelineConfigFile(name, azurite, grid, epochs);
        var host = await LocalPipelineHost.StartAsync(config,
            new LocalHostOptions(Port: 0, RetrainingTimer: false,
                new TrialWorkerProcessOptions(config.Workers.Count, path, Settings: settings)),
            services => services.AddTorchServing());
        var http = new HttpClient { BaseAddress = host.Address() };
        http.DefaultRequestHeaders.Add("x-api-key", WorkerFixture.Key);
        return (host, http, config);
    }

    private async Task<string> StartRunAsync(HttpClient http)
    {
        using var response = await http.PostAsync("api/training", new StringContent(
            $$"""{"source": {{JsonSerializer.Serialize(data.Export)}}, "task": "events"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;
    }

    /// <summary>The run's status, as a client honouring Retry-After reads it: a 503 (the route's storage deadline
    /// passed, which the worker processes' load on 2 cores can cause) is asked again, for up to a minute.</summary>
    private static async Task<JsonElement> StatusAsync(HttpClient http, string runId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            using var response = await http.GetAsync($"api/training/{runId}");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                response.EnsureSuccessStatusCode();
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            }
            Assert.NotNull(response.Headers.RetryAfter); // the 503 says when to come back
            await Task.Delay(500);
        }
    }

    private static async Task<JsonElement> WaitAsync(HttpClient http, string runId, Func<JsonElement, bool> until, int seconds = 150)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var status = await StatusAsync(http, runId);
            if (until(status)) return status;
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting on run {runId}: {status}");
            await Task.Delay(250);
        }
    }

    private static JsonElement.ArrayEnumerator Trials(JsonElement status) => status.GetProperty("trials").EnumerateArray();

    private static bool Ended(JsonElement status) =>
        status.GetProperty("runtime_status").GetString() is "Completed" or "Failed" or "Terminated";

    [Fact]
    public async Task Trials_run_on_two_worker_processes_and_a_killed_workers_trial_is_rerun_and_recorded_once()
    {
        var (host, http, _) = await StartAsync("kill", new JsonObject
        {
            ["learning_rate"] = new JsonArray(0.001, 0.002, 0.003, 0.004),
            ["device"] = new JsonArray("cpu", "cuda"),
        }, epochs: 3);
        await using var _ = host;
        using var __ = http;
        var runId = await StartRunAsync(http);

        // Kill the worker process running the first trial that starts (SIGKILL: no goodbye, its lease just runs out).
        var running = await WaitAsync(http, runId, s => Trials(s).Any(t => t.GetProperty("status").GetString() == "running"
                                                                         && t.GetProperty("worker").GetString() != null));
        var victim = Trials(running).First(t => t.GetProperty("status").GetString() == "running");
        var victimTrial = victim.GetProperty("trial_id").GetString()!;
        var pid = int.Parse(victim.GetProperty("worker").GetString()!.Split('/')[^1]);
        Process.GetProcessById(pid).Kill();

        var done = await WaitAsync(http, runId, Ended);
        Assert.Equal("Completed", done.GetProperty("runtime_status").GetString());
        var trials = Trials(done).ToList();
        Assert.Equal(8, trials.Count); // one record per trial, whatever the attempts
        Assert.Equal(8, trials.Select(t => t.GetProperty("trial_id").GetString()).Distinct().Count());
        var cpu = trials.Where(t => t.GetProperty("params").GetProperty("device").GetString() == "cpu").ToList();
        var cuda = trials.Where(t => t.GetProperty("params").GetProperty("device").GetString() == "cuda").ToList();
        Assert.All(cpu, t => Assert.Equal("succeeded", t.GetProperty("status").GetString()));
        // No GPU here: those trials fail the same way each time, are recorded failed with the reason, and the run
        // completes with the others (bad settings are not retried).
        Assert.All(cuda, t =>
        {
            Assert.Equal("failed", t.GetProperty("status").GetString());
            Assert.Contains("cuda", t.GetProperty("error").GetString());
        });
        var rerun = trials.Single(t => t.GetProperty("trial_id").GetString() == victimTrial);
        Assert.True(rerun.GetProperty("attempts").GetInt32() >= 2, rerun.ToString());
        // Trained by separate processes: worker names carry their process ids.
        var workers = trials.Select(t => t.GetProperty("worker").GetString()).Distinct().ToList();
        Assert.True(workers.Count >= 2, string.Join(", ", workers));
        Assert.DoesNotContain(workers, w => w == null);
        var result = done.GetProperty("result");
        Assert.Equal(4, result.GetProperty("trials_succeeded").GetInt32());
        Assert.Equal(4, result.GetProperty("trials_failed").GetInt32());
        // The evaluation ran on a worker too, and the model answers once in production (this short training may end
        // below a baseline: then it is held back and put in production by hand with force).
        Assert.True(result.GetProperty("test").GetProperty("accuracy").GetDouble() > 0);
        if (!result.GetProperty("promoted").GetBoolean())
        {
            Assert.Contains("baseline", result.GetProperty("promotion_reason").GetString());
            using var force = new HttpRequestMessage(HttpMethod.Post,
                $"api/models/{result.GetProperty("model_name").GetString()}/versions/{result.GetProperty("model_version").GetInt32()}/stage")
            {
                Content = new StringContent("""{"stage": "Production", "force": true}""", Encoding.UTF8, "application/json"),
            };
            using var forced = await http.SendAsync(force);
            Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        }
        using var predict = await http.PostAsync("api/predict/next-event",
            new StringContent("""{"events": ["session_start", "page_view"]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
    }

    [Fact]
    public async Task A_cancelled_run_leaves_no_trial_running_and_its_queued_trials_are_dropped()
    {
        var (host, http, config) = await StartAsync("cancel", new JsonObject
        {
            ["learning_rate"] = new JsonArray(0.001, 0.002, 0.003, 0.004, 0.005, 0.006),
        }, epochs: 200);
        await using var _ = host;
        using var __ = http;
        var runId = await StartRunAsync(http);
        await WaitAsync(http, runId, s => Trials(s).Any(t => t.GetProperty("status").GetString() == "running"));

        using var cancel = await http.PostAsync($"api/training/{runId}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        using var again = await http.PostAsync($"api/training/{runId}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        // Within a few seconds every trial has stopped: none running or queued, none trained to the end.
        var stopped = await WaitAsync(http, runId, s => Trials(s).Count() == 6 && Trials(s).All(t =>
            t.GetProperty("status").GetString() == "cancelled"), seconds: 30);
        Assert.Equal("cancelled", stopped.GetProperty("run").GetProperty("status").GetString());
        Assert.Equal("Terminated", stopped.GetProperty("runtime_status").GetString());
        var queues = host.Services.GetRequiredService<WorkQueues>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await queues.PendingWorkAsync() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "Queued work of the cancelled run is still waiting.");
            await Task.Delay(250);
        }
        Assert.Equal(RunStatus.Cancelled, (await host.Services.GetRequiredService<RunStore>().GetRunAsync(runId))!.Status);
        Assert.Equal(2, config.Workers.Count);
    }

    [Fact]
    public async Task No_worker_outlives_its_host_whether_it_is_disposed_or_killed()
    {
        var (host, http, config) = await StartAsync("lifetime", new JsonObject { ["learning_rate"] = new JsonArray(0.001) }, epochs: 1);
        http.Dispose();
        var workers = host.Services.GetRequiredService<TrialWorkerProcesses>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (workers.ProcessIds.Any(p => p is null))
        {
            Assert.True(DateTime.UtcNow < deadline, "The worker processes did not start.");
            await Task.Delay(100);
        }
        var pids = workers.ProcessIds.Select(p => p!.Value).ToList();
        Assert.Equal(config.Workers.Count, pids.Count);
        await host.DisposeAsync(); // disposed without StopAsync, as `await using` does
        foreach (var pid in pids)
            Assert.True(HasExited(pid), $"Worker {pid} outlived its disposed host.");

        // A worker whose host died (here: a stand-in parent that exits) stops by itself.
        var (path, _, _) = data.PipelineConfigFile("orphan", azurite, new JsonObject { ["learning_rate"] = new JsonArray(0.001) }, epochs: 1);
        using var parent = Process.Start(new ProcessStartInfo("sleep", "2"))!;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", Path.Combine(AppContext.BaseDirectory, "ca-worker.dll"), "--config", path },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["CA_PARENT_PID"] = parent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var orphan = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        try
        {
            await orphan.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!orphan.HasExited) orphan.Kill();
        }
        Assert.True(orphan.HasExited);
    }

    private static bool HasExited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
