using CustomerAnalysis.Pipeline.Storage;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CustomerAnalysis.Pipeline.Training;

public static class TrainingTasks
{
    /// <summary>Adds the training orchestration and its activities to a Durable worker.</summary>
    public static DurableTaskRegistry AddTrainingTasks(this DurableTaskRegistry tasks) => tasks
        .AddOrchestrator<TrainingOrchestration>()
        .AddActivity<PrepareDatasetActivity>()
        .AddActivity<PrepareShardActivity>()
        .AddActivity<MergeShardsActivity>()
        .AddActivity<DispatchTrialActivity>()
        .AddActivity<DispatchEvaluationActivity>()
        .AddActivity<CheckWorkActivity>()
        .AddActivity<RegisterActivity>()
        .AddActivity<PromoteActivity>()
        .AddActivity<UpdateRunActivity>();

    /// <summary>Registers the stores and queues the activities and the trial workers use.</summary>
    public static IServiceCollection AddPipelineStorage(this IServiceCollection services, PipelineStorageOptions options)
    {
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp => new PipelineStorage(sp.GetRequiredService<PipelineStorageOptions>()));
        services.TryAddSingleton<ArtifactStore>();
        services.TryAddSingleton<RunStore>();
        services.TryAddSingleton<ModelRegistry>();
        services.TryAddSingleton<Workers.WorkQueues>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
