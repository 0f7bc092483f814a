using System.Diagnostics;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.LocalHost;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>
/// The child process of <see cref="CrashTests"/>: the local Durable host with slow trials. It starts a run, writes
/// its run id to a file and serves until it is killed. Run as <c>dotnet exec CustomerAnalysis.Pipeline.Tests.dll
/// crash-host {connection} {task hub} {storage prefix} {run id file}</c>.
/// </summary>
public static class CrashHost
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["crash-host", var connection, var hub, var prefix, var runIdFile]) return 2;
        var storageOptions = new PipelineStorageOptions { ConnectionString = connection, NamePrefix = prefix };
        await new PipelineStorage(storageOptions).EnsureCreatedAsync();
        await using var host = await EngineHost.StartAsync(CrashTests.DurableOptions(connection, hub),
            tasks => tasks.AddTrainingTasks(),
            services => CrashTests.AddServices(services, storageOptions, new SlowTrialRunner()));
        var runId = await host.Services.GetRequiredService<TrainingLauncher>().StartAsync(host.Client, CrashTests.Input);
        await File.WriteAllTextAsync(runIdFile + ".tmp", runId);
        File.Move(runIdFile + ".tmp", runIdFile); // the parent never sees a half-written id
        // The parent kills this process; if it does not (a failed test), leave on our own. Environment.Exit, because
        // the hosts inside would wait forever for a graceful stop.
        await Task.Delay(TimeSpan.FromMinutes(3));
        Environment.Exit(3);
        return 3;
    }

    private sealed class SlowTrialRunner : ITrialRunner
    {
        private readonly LookupTrialRunner _inner = new();

        public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
        {
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken); // killed long before this ends
            return await _inner.RunAsync(request, cancellationToken);
        }
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class CrashTests(AzuriteFixture azurite)
{
    internal static readonly TrainingInput Input = PipelineHarness.Input(new { num_layers = new[] { 1, 2 }, seed = new[] { 1, 2 } });

    internal static LocalDurableEngineOptions DurableOptions(string connection, string hub) => new()
    {
        StorageConnectionString = connection,
        TaskHubName = hub,
        // A killed host's in-flight activities come back after this.
        QueueVisibilityTimeout = TimeSpan.FromSeconds(5),
    };

    internal static void AddServices(IServiceCollection services, PipelineStorageOptions storage, ITrialRunner runner)
    {
        services.AddPipelineStorage(storage);
        services.AddSingleton<TrainingLauncher>();
        services.AddSingleton<IDatasetPreparer, SyntheticPreparer>();
        services.AddSingleton(runner);
        services.AddSingleton<IEvaluator, LookupEvaluator>();
        services.AddTrialWorker(storage, PipelineHarness.FastWorker);
        services.AddCompletionListener();
    }

    [Fact]
    public async Task A_run_survives_killing_the_host_mid_trial_with_each_trial_recorded_once()
    {
        var hub = AzuriteFixture.UniqueName("hub");
        var storage = new PipelineStorageOptions { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("c") };
        var runs = new RunStore(new PipelineStorage(storage));
        var artifacts = new ArtifactStore(new PipelineStorage(storage));

        var testAssembly = typeof(CrashHost).Assembly.Location;
        var runIdFile = Path.Combine(Path.GetTempPath(), hub + ".runid");
        using var child = Process.Start(new ProcessStartInfo("dotnet",
            ["exec", testAssembly, "crash-host", azurite.ConnectionString, hub, storage.NamePrefix, runIdFile]))!;
        string runId;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(runIdFile))
            {
                Assert.False(child.HasExited, $"The crash host exited with {(child.HasExited ? child.ExitCode : 0)}.");
                Assert.True(DateTime.UtcNow < deadline, "The crash host did not start a run within 60 s.");
                await Task.Delay(100);
            }
            runId = await File.ReadAllTextAsync(runIdFile);
            File.Delete(runIdFile);
            // Kill once trials are running in the child (the engine runs as many at once as there are cores).
            while (!(await runs.ListTrialsAsync(runId)).Any(t => t.Status == TrialStatus.Running))
            {
                Assert.True(DateTime.UtcNow < deadline, "The child never started its trials.");
                await Task.Delay(100);
            }
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        await using var host = await EngineHost.StartAsync(DurableOptions(azurite.ConnectionString, hub),
            tasks => tasks.AddTrainingTasks(),
            services => AddServices(services, storage, new LookupTrialRunner()));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var done = await host.Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var trials = await runs.ListTrialsAsync(runId);
        Assert.Equal(["t000", "t001", "t002", "t003"], trials.Select(t => t.TrialId));
        Assert.All(trials, t => Assert.Equal(TrialStatus.Succeeded, t.Status));
        // Trials that were running in the killed host's worker ran again (their lease ran out), yet left one record each.
        Assert.Contains(trials, t => t.Attempts == 2);
        foreach (var t in trials)
            Assert.Equal(
                [ArtifactNames.Checkpoint(runId, t.TrialId), ArtifactNames.Plot(runId, t.TrialId, "loss.svg")],
                await artifacts.ListAsync(ArtifactNames.TrialFolder(runId, t.TrialId)));
        var result = done.ReadOutputAs<TrainingResult>()!;
        Assert.Equal(4, result.TrialsSucceeded);
        Assert.True(result.Promoted);
    }
}
