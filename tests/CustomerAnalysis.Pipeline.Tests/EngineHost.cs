using CustomerAnalysis.LocalHost;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>A generic host with the local Durable engine (<see cref="LocalDurableEngine.AddLocalDurableEngine"/>, as
/// the local host adds it) and whatever <c>configureServices</c> adds: the tests' composition root.</summary>
public sealed class EngineHost : IAsyncDisposable
{
    private readonly IHost _host;

    private EngineHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;
    public DurableTaskClient Client => Services.GetRequiredService<DurableTaskClient>();

    public static async Task<EngineHost> StartAsync(LocalDurableEngineOptions options, Action<DurableTaskRegistry> registerTasks,
        Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        configureServices?.Invoke(builder.Services);
        builder.Services.AddLocalDurableEngine(options, registerTasks);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return new EngineHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
