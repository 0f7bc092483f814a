using System.Net;
using System.Net.Sockets;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerAnalysis.LocalHost;

/// <summary>Settings of the local Durable engine.</summary>
public sealed record LocalDurableEngineOptions
{
    /// <summary>Azure Storage connection string; Azurite by default.</summary>
    public string StorageConnectionString { get; init; } = Pipeline.StorageDefaults.AzuriteConnectionString;

    /// <summary>Task hub name: 3-45 letters and digits, starting with a letter (Azure Storage naming rules).</summary>
    public string TaskHubName { get; init; } = "customeranalysis";

    /// <summary>How long a dequeued work item stays invisible. A crashed activity is retried after this, so it is
    /// short (the Durable default is 5 minutes); activities that run longer are kept invisible by the engine.</summary>
    public TimeSpan QueueVisibilityTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Longest wait between queue polls when idle (the Durable default is 30 s: too slow for a local run).
    /// Each step of a run waits up to this for its next message, so it bounds the orchestration's latency; loopback
    /// polls of a few empty queues cost nothing worth saving.</summary>
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Partition (control queue) count. One is enough for one local host and makes start-up faster.</summary>
    public int PartitionCount { get; init; } = 1;

    public int MaxConcurrentActivities { get; init; } = 8;
}

/// <summary>
/// The Durable engine Azure Functions uses, in the host's own container (the shape of durabletask-dotnet's
/// <c>AddInMemoryDurableTask</c>): DTFx's <see cref="AzureStorageOrchestrationService"/> (queues, tables and blobs on
/// Azure Storage or Azurite) behind a <see cref="TaskHubGrpcServer"/> sidecar on a loopback port (a hosted service),
/// and a Microsoft.DurableTask worker and client talking to it over gRPC. Orchestrators and activities are the same
/// classes the Functions app wraps, created from the host's services.
/// </summary>
public static class LocalDurableEngine
{
    /// <summary>A no-op orchestration whose round trip shows the engine is running.</summary>
    internal const string EngineReadyOrchestration = "EngineReady";

    public static IServiceCollection AddLocalDurableEngine(this IServiceCollection services,
        LocalDurableEngineOptions options, Action<DurableTaskRegistry> registerTasks)
    {
        ValidateTaskHubName(options.TaskHubName);
        // The sidecar's port is chosen now so the worker and client channel can be configured before it starts.
        var address = $"http://127.0.0.1:{FreeLoopbackPort()}";
        var channel = GrpcChannel.ForAddress(address);
        services.AddSingleton(options);
        services.AddSingleton(new LocalDurableSidecarAddress(address, channel));
        // Hosted services start in registration order and stop in reverse: sidecar, worker, readiness check.
        services.AddHostedService<LocalDurableSidecar>();
        services.AddDurableTaskWorker(worker =>
        {
            worker.UseGrpc(channel);
            worker.AddTasks(registry =>
            {
                registerTasks(registry);
                registry.AddOrchestratorFunc(EngineReadyOrchestration, _ => Task.CompletedTask);
            });
            worker.Configure(o => o.Concurrency.MaximumConcurrentActivityWorkItems = options.MaxConcurrentActivities);
        });
        services.AddDurableTaskClient(client =>
        {
            client.UseGrpc(channel);
            client.RegisterDirectly();
        });
        services.AddHostedService<LocalDurableEngineReadiness>();
        return services;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void ValidateTaskHubName(string name)
    {
        if (name.Length is < 3 or > 45 || !char.IsAsciiLetter(name[0]) || !name.All(char.IsAsciiLetterOrDigit))
            throw new ArgumentException(
                $"Task hub name '{name}' is invalid: use 3-45 letters and digits, starting with a letter.", nameof(name));
    }
}

/// <summary>Where the sidecar listens and the channel the worker and client use (disposed with the container).</summary>
public sealed record LocalDurableSidecarAddress(string Address, GrpcChannel Channel) : IDisposable
{
    public void Dispose() => Channel.Dispose();
}

/// <summary>The engine's sidecar: creates the task hub, then serves the Durable gRPC protocol on loopback.</summary>
internal sealed class LocalDurableSidecar(LocalDurableEngineOptions options, LocalDurableSidecarAddress address,
    ILoggerFactory? loggerFactory = null) : IHostedService, IAsyncDisposable
{
    private WebApplication? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var logs = loggerFactory ?? NullLoggerFactory.Instance;
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(options.StorageConnectionString),
            WorkItemQueueVisibilityTimeout = options.QueueVisibilityTimeout,
            ControlQueueVisibilityTimeout = options.QueueVisibilityTimeout,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            PartitionCount = options.PartitionCount,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            // Partition leases: a restarted host must take over the partitions of the one that died quickly.
            LeaseInterval = TimeSpan.FromSeconds(10),
            LeaseRenewInterval = TimeSpan.FromSeconds(3),
            LeaseAcquireInterval = TimeSpan.FromSeconds(2),
            LoggerFactory = logs,
        });
        try
        {
            await service.CreateIfNotExistsAsync();
        }
        catch (Exception e) when (e is Azure.RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException(
                $"Cannot reach Azure Storage for task hub '{options.TaskHubName}' ({e.Message}). " +
                "Is Azurite running? Start it with scripts/azurite.sh.", e);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(logs);
        var port = new Uri(address.Address).Port;
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 4 * 1024 * 1024);
        builder.Services.AddSingleton<IOrchestrationService>(service);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        _server = builder.Build();
        _server.MapGrpcService<TaskHubGrpcServer>();
        await _server.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server != null) await _server.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server != null) await _server.DisposeAsync();
    }
}

/// <summary>
/// The sidecar starts the Azure Storage engine only after the worker connects, on a background callback, and the
/// engine's stop assumes its start has run: stopping in between crashes the process. So start-up waits for one
/// no-op orchestration to complete (then removes its history), which also proves the engine works.
/// </summary>
internal sealed class LocalDurableEngineReadiness(DurableTaskClient client) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var instanceId = $"engine-ready-{Guid.NewGuid():N}";
        await client.ScheduleNewOrchestrationInstanceAsync(LocalDurableEngine.EngineReadyOrchestration,
            new StartOrchestrationOptions(instanceId), cancellationToken);
        await client.WaitForInstanceCompletionAsync(instanceId, cancellationToken);
        await client.PurgeInstanceAsync(instanceId, cancellation: cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
