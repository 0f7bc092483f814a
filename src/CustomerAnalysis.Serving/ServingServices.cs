using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Serving;

public static class ServingServices
{
    /// <summary>The TorchSharp predictor behind the HTTP prediction routes, batching concurrent requests with the
    /// default <see cref="ServingOptions"/>.</summary>
    public static IServiceCollection AddTorchServing(this IServiceCollection services) =>
        services.AddTorchServing(new ServingOptions());

    /// <summary>The TorchSharp predictor behind the HTTP prediction routes, batching as the pipeline config's
    /// <c>serving</c> section says (the hosts' call).</summary>
    /// <exception cref="Core.InvalidInputException">A setting out of its range.</exception>
    public static IServiceCollection AddTorchServing(this IServiceCollection services, PipelineConfig.ServingSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var (batching, sessions, wait) = section.Validated();
        return services.AddTorchServing(new ServingOptions { Batching = batching, MaxBatchSessions = sessions, MaxBatchWait = wait });
    }

    /// <summary>The TorchSharp predictor behind the HTTP prediction routes, batching as <paramref name="options"/> say.</summary>
    public static IServiceCollection AddTorchServing(this IServiceCollection services, ServingOptions options) =>
        services.AddSingleton<IModelLoader>(new TorchModelLoader(options));
}
