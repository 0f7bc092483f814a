using CustomerAnalysis.Learning;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.TrialWorker;

/// <summary>What a worker process is told: the pipeline config (storage, <c>workers</c>) with the storage connection
/// and the worker's name from the environment when set.</summary>
public sealed record WorkerSettings(PipelineConfig Pipeline, string? Name)
{
    public static WorkerSettings From(IConfiguration configuration)
    {
        var path = configuration["config"] ?? Path.Combine("config", "pipeline.json");
        var pipeline = PipelineConfig.Load(path);
        if (configuration["CA_STORAGE_CONNECTION_STRING"] is { Length: > 0 } storage)
            pipeline = pipeline with { Storage = pipeline.Storage with { ConnectionString = storage } };
        return new WorkerSettings(pipeline, configuration["CA_WORKER_NAME"]);
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
        return services
            .AddInProcessLearning(new LearningOptions(workers.TorchThreads))
            .AddTrialWorker(settings.Pipeline.Storage.ToOptions(), options);
    }
}
