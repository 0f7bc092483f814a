using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Hosting;

public static class PipelineServices
{
    /// <summary>Registers what the activities, the HTTP handlers and the retraining job need, for a host with one
    /// container (the Functions app), including creating the storage at start-up. The host adds its <see cref="PipelinePlugins"/> with <see cref="AddPlugins"/>.</summary>
    public static IServiceCollection AddCustomerAnalysisPipeline(this IServiceCollection services, PipelineConfig config)
    {
        services.AddSingleton(config);
        services.AddPipelineStorage(config.Storage.ToOptions());
        services.AddHostedService<PipelineStorageInitializer>();
        services.AddSingleton<ProductionModelCache>();
        services.AddSingleton<IPromotionListener>(sp => sp.GetRequiredService<ProductionModelCache>());
        services.AddSingleton<TrainingLauncher>();
        services.AddSingleton<PipelineApi>();
        services.AddSingleton<RetrainingJob>();
        return services;
    }

    public static IServiceCollection AddPlugins(this IServiceCollection services, PipelinePlugins plugins) => services
        .AddSingleton(plugins.Preparer)
        .AddSingleton(plugins.TrialRunner)
        .AddSingleton(plugins.Evaluator)
        .AddSingleton(plugins.ModelLoader);
}
