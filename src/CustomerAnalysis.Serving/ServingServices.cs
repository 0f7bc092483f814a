using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Serving;

public static class ServingServices
{
    /// <summary>The TorchSharp predictor behind the HTTP prediction routes.</summary>
    public static IServiceCollection AddTorchServing(this IServiceCollection services) =>
        services.AddSingleton<IModelLoader, TorchModelLoader>();
}
