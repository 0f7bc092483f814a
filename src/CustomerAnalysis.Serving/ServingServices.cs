using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Serving;

public static class ServingServices
{
    /// <summary>The TorchSharp predictor behind the HTTP prediction routes, batching concurrent requests with the
    /// default <see cref="ServingOptions"/>.</summary>
    public static IServiceCollection AddTorchServing(this IServiceCollection services) =>
        services.AddTorchServing(new ServingOptions());

    /// <summary>The TorchSharp predictor behind the HTTP prediction routes, batching as <paramref name="options"/> say.</summary>
    public static IServiceCollection AddTorchServing(this IServiceCollection services, ServingOptions options) =>
        services.AddSingleton<IModelLoader>(new TorchModelLoader(options));
}
