using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Configuration;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Serving;
using CustomerAnalysis.Serving.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Functions;

public static class FunctionsStartup
{
    /// <summary>config/pipeline.json (or the file named by the PIPELINE_CONFIG setting) under the app settings
    /// (<see cref="PipelineConfigLoader"/>): storage from AzureWebJobsStorage or its identity-based
    /// <c>__accountName</c>/<c>__clientId</c> settings (the app's tables and blobs live in its own account), the
    /// retraining cron and source from RetrainingCron/RetrainingSource, the rest from <c>CA__section__key</c>.</summary>
    public static PipelineConfig LoadConfig(System.Collections.IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        var path = environment["PIPELINE_CONFIG"] is string { Length: > 0 } configured
            ? Path.GetFullPath(configured, AppContext.BaseDirectory)
            : Path.Combine(AppContext.BaseDirectory, "config", "pipeline.json");
        return PipelineConfigLoader.Load(path, environment);
    }

    /// <summary>The app's services: the pipeline (orchestration, activities, API, stores) and the TorchSharp predictor
    /// for the prediction routes. Trials and evaluation run on the trial workers, not here.</summary>
    public static IServiceCollection AddCustomerAnalysisFunctions(this IServiceCollection services, PipelineConfig config) =>
        services.AddCustomerAnalysisPipeline(config).AddTorchServing().AddTorchBatchScoring();
}
