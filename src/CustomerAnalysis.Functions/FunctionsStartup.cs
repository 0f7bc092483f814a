using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Configuration;
using CustomerAnalysis.Pipeline.Hosting;
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

    /// <summary>The app's services, with the real learning core (<see cref="PipelinePlugins.InProcess"/>) unless
    /// <paramref name="plugins"/> says otherwise (tests).</summary>
    public static void ConfigureServices(IServiceCollection services, PipelineConfig config, PipelinePlugins? plugins = null)
    {
        services.AddCustomerAnalysisPipeline(config);
        services.AddPlugins(plugins ?? PipelinePlugins.InProcess());
    }
}
