using CustomerAnalysis.Pipeline.Storage;
using Microsoft.Extensions.Hosting;

namespace CustomerAnalysis.Pipeline.Hosting;

/// <summary>Creates the pipeline's tables and blob container when the host starts (idempotent), so a fresh storage
/// account works on the first request. <c>ca serve</c> does the same in <see cref="LocalPipelineServer"/>.</summary>
public sealed class PipelineStorageInitializer(PipelineStorage storage) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => storage.EnsureCreatedAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
