using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Pipeline.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CustomerAnalysis.Pipeline.Hosting;

public static class PipelineServices
{
    /// <summary>What the orchestration's activities, the HTTP handlers and the retraining job need, for a host with
    /// one container (the Functions app, the local host), including creating the storage at start-up. The host adds
    /// a model loader for serving (CustomerAnalysis.Serving's <c>AddTorchServing</c>).</summary>
    public static IServiceCollection AddCustomerAnalysisPipeline(this IServiceCollection services, PipelineConfig config)
    {
        services.AddSingleton(config);
        services.AddPipelineStorage(config.Storage.ToOptions());
        services.AddHostedService<PipelineStorageInitializer>();
        // Preparation is data work (read the export, label, split, write the dataset blob): it runs beside the
        // orchestration. Model work (trials, evaluation) goes to the trial workers.
        services.TryAddSingleton<IDatasetPreparer, ExportDatasetPreparer>();
        services.TryAddSingleton<IShardPreparer, ExportDatasetPreparer>();
        services.AddSingleton<ProductionModelCache>();
        services.AddSingleton<IPromotionListener>(sp => sp.GetRequiredService<ProductionModelCache>());
        services.AddSingleton<TrainingLauncher>();
        services.AddSingleton<PipelineApi>();
        services.AddSingleton<ArtifactsApi>();
        services.AddSingleton<RetrainingJob>();
        // Scoring runs: shards read here (data work), scored by the host's IBatchScorer (Serving's AddTorchBatchScoring).
        services.TryAddSingleton<Training.IScoringShardReader, Scoring.ExportScoringShardReader>();
        services.AddSingleton<Scoring.ScoreStore>();
        services.AddSingleton<Scoring.ScoringLauncher>();
        services.AddSingleton<ScoringApi>();
        services.AddSingleton<Scoring.ScoringJob>();
        return services;
    }

    /// <summary>A trial worker in this process: takes work items from the trial queue and runs them through the
    /// registered <see cref="ITrialRunner"/> and <see cref="IEvaluator"/> (CustomerAnalysis.Learning's
    /// <c>AddInProcessLearning</c>, or test doubles).</summary>
    public static IServiceCollection AddTrialWorker(this IServiceCollection services, Storage.PipelineStorageOptions storage,
        TrialWorkerOptions? options = null)
    {
        services.AddPipelineStorage(storage);
        services.AddHostedService<PipelineStorageInitializer>();
        services.TryAddSingleton(options ?? new TrialWorkerOptions());
        services.TryAddSingleton<WorkExecutor>();
        services.AddHostedService<TrialWorker>();
        return services;
    }

    /// <summary>Relays worker completions from the completion queue to the orchestrations (the local host; the
    /// Functions app uses a queue trigger instead).</summary>
    public static IServiceCollection AddCompletionListener(this IServiceCollection services)
    {
        services.AddHostedService<CompletionListener>();
        return services;
    }
}
