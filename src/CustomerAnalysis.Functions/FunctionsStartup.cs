using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Hosting;
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

    /// <summary>The app's services. The preparer, trial runner, evaluator and model loader are registered here once
    /// their projects are merged (<see cref="PipelineServices.AddPlugins"/>); until then activities that need them
    /// fail with a DI error naming the missing interface.</summary>
    public static void ConfigureServices(IServiceCollection services, PipelineConfig config)
    {
        services.AddCustomerAnalysisPipeline(config);
    }
}
