using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Learning;

/// <param name="TorchThreads">Torch intra-op threads for a trial whose config leaves <c>num_threads</c> at 0.</param>
public sealed record LearningOptions(int TorchThreads = 1);

public static class LearningServices
{
    /// <summary>Trials and evaluation with TorchSharp in this process: what a trial worker runs.</summary>
    public static IServiceCollection AddInProcessLearning(this IServiceCollection services, LearningOptions? options = null)
    {
        services.AddSingleton(options ?? new LearningOptions());
        services.AddSingleton<ITrialRunner, TorchTrialRunner>();
        services.AddSingleton<IEvaluator, CheckpointEvaluator>();
        return services;
    }
}
