using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Functions;

public static class FunctionsStartup
{
    /// <summary>config/pipeline.json (or the file named by the PIPELINE_CONFIG setting), with storage taken from
    /// AzureWebJobsStorage so the app's tables and blobs live in its own storage account.</summary>
    public static PipelineConfig LoadConfig()
    {
        var path = Environment.GetEnvironmentVariable("PIPELINE_CONFIG") is { Length: > 0 } configured
            ? Path.GetFullPath(configured, AppContext.BaseDirectory)
            : Path.Combine(AppContext.BaseDirectory, "config", "pipeline.json");
        var config = PipelineConfig.Load(path);
        return Environment.GetEnvironmentVariable("AzureWebJobsStorage") is { Length: > 0 } storage
            ? config with { Storage = config.Storage with { ConnectionString = storage } }
            : config;
    }

    /// <summary>The app's services: the pipeline (orchestration, activities, API, stores) and the TorchSharp predictor
    /// for the prediction routes. Trials and evaluation run on the trial workers, not here.</summary>
    public static IServiceCollection AddCustomerAnalysisFunctions(this IServiceCollection services, PipelineConfig config) =>
        services.AddCustomerAnalysisPipeline(config).AddTorchServing();
}
