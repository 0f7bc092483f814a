using System.Diagnostics;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>A worker run as a Container Apps job execution (workers.exit_when_idle_seconds) ends its process once the
/// queue stays empty, instead of holding a GPU until the replica timeout; without the setting it keeps polling.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerIdleExitTests(AzuriteFixture azurite)
{
    private IHost Worker(TimeSpan? exitWhenIdle)
    {
        var storage = new PipelineStorageOptions { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("w") };
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<ITrialRunner, LookupTrialRunner>().AddSingleton<IEvaluator, LookupEvaluator>();
        builder.Services.AddTrialWorker(storage, PipelineHarness.FastWorker with { ExitWhenIdle = exitWhenIdle });
        return builder.Build();
    }

    [Fact]
    public async Task With_an_idle_limit_the_worker_process_stops_itself_on_an_empty_queue()
    {
        using var host = Worker(TimeSpan.FromMilliseconds(500));
        var clock = Stopwatch.StartNew();

        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await host.StartAsync();
        await host.WaitForShutdownAsync(giveUp.Token);

        // The worker stopped the host, not the test's time limit.
        Assert.False(giveUp.IsCancellationRequested, "The worker did not stop the host within 20 s.");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(500), $"Stopped after {clock.Elapsed}, before the idle limit.");
    }

    [Fact]
    public async Task Without_one_it_keeps_polling()
    {
        using var host = Worker(exitWhenIdle: null);
        await host.StartAsync();

        await Task.Delay(TimeSpan.FromSeconds(1.5));

        Assert.False(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        await host.StopAsync();
    }

    [Fact]
    public void The_setting_comes_from_the_workers_section()
    {
        Assert.Null(new PipelineConfig.WorkersSection().ToWorkerOptions().ExitWhenIdle);
        Assert.Equal(TimeSpan.FromSeconds(60), new PipelineConfig.WorkersSection { ExitWhenIdleSeconds = 60 }.ToWorkerOptions().ExitWhenIdle);
        Assert.Throws<Core.InvalidInputException>(() => new PipelineConfig.WorkersSection { ExitWhenIdleSeconds = -1 }.ToWorkerOptions());
    }
}
