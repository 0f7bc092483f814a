using System.Diagnostics;
using CustomerAnalysis.Learning;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CustomerAnalysis.TrialWorker;

/// <summary>What a worker process is told: the pipeline config (storage, <c>workers</c>) with the storage connection,
/// the worker's name and the process it belongs to (local workers: <c>CA_PARENT_PID</c>) from the environment.</summary>
public sealed record WorkerSettings(PipelineConfig Pipeline, string? Name, int? ParentProcessId)
{
    public static WorkerSettings From(IConfiguration configuration)
    {
        var path = configuration["config"] ?? Path.Combine("config", "pipeline.json");
        var pipeline = PipelineConfig.Load(path);
        if (configuration["CA_STORAGE_CONNECTION_STRING"] is { Length: > 0 } storage)
            pipeline = pipeline with { Storage = pipeline.Storage with { ConnectionString = storage } };
        var parent = int.TryParse(configuration["CA_PARENT_PID"], out var pid) ? pid : (int?)null;
        return new WorkerSettings(pipeline, configuration["CA_WORKER_NAME"], parent);
    }
}

public static class TrialWorkerHost
{
    /// <summary>The worker's composition root: storage, the TorchSharp trainer and evaluator, the queue loop.</summary>
    public static IServiceCollection AddTrialWorkerHost(this IServiceCollection services, WorkerSettings settings)
    {
        var workers = settings.Pipeline.Workers;
        var options = workers.ToWorkerOptions();
        if (settings.Name is { } name) options = options with { Name = $"{name}/{Environment.ProcessId}" };
        if (settings.ParentProcessId is { } parent)
            services.AddHostedService(sp => new ParentProcessWatch(parent, sp.GetRequiredService<IHostApplicationLifetime>()));
        return services
            .AddInProcessLearning(new LearningOptions(workers.TorchThreads))
            .AddTrialWorker(settings.Pipeline.Storage.ToOptions(), options);
    }
}

/// <summary>A local worker belongs to the host that started it: when that process is gone (stopped, crashed or
/// killed), the worker stops too instead of polling the queue forever. Its item in hand, if any, reappears after its
/// lease.</summary>
internal sealed class ParentProcessWatch(int parentProcessId, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (IsAlive()) continue;
            lifetime.StopApplication();
            // A trial in the middle of a native call may not notice the stop: leave anyway.
            await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None);
            Environment.Exit(0);
        }
    }

    private bool IsAlive()
    {
        try
        {
            using var parent = Process.GetProcessById(parentProcessId);
            return !parent.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
