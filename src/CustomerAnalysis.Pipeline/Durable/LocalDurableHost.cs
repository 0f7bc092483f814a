using System.Net;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerAnalysis.Pipeline.Durable;

/// <summary>Settings of the local Durable engine.</summary>
public sealed record LocalDurableHostOptions
{
    /// <summary>Azure Storage connection string; Azurite by default.</summary>
    public string StorageConnectionString { get; init; } = StorageDefaults.AzuriteConnectionString;

    /// <summary>Task hub name: 3-45 letters and digits, starting with a letter (Azure Storage naming rules).</summary>
    public string TaskHubName { get; init; } = "customeranalysis";

    /// <summary>How long a dequeued work item stays invisible. A crashed activity is retried after this, so it is
    /// short (the Durable default is 5 minutes); activities that run longer are kept invisible by the engine.</summary>
    public TimeSpan QueueVisibilityTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Longest wait between queue polls when idle (the Durable default is 30 s: too slow for a local run).</summary>
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Partition (control queue) count. One is enough for one local worker and makes start-up faster.</summary>
    public int PartitionCount { get; init; } = 1;

    public int MaxConcurrentActivities { get; init; } = 8;
}

/// <summary>
/// The Durable engine Azure Functions uses, hosted in this process: DTFx's <see cref="AzureStorageOrchestrationService"/>
/// (queues, tables and blobs on Azure Storage or Azurite) behind a <see cref="TaskHubGrpcServer"/> sidecar on a
/// loopback port, and a Microsoft.DurableTask worker and client talking to it over gRPC. Orchestrators and activities
/// are the same classes the Functions app wraps.
/// </summary>
public sealed class LocalDurableHost : IAsyncDisposable
{
    private readonly WebApplication _sidecar;
    private readonly IHost _worker;
    private readonly GrpcChannel _channel;

    private LocalDurableHost(WebApplication sidecar, IHost worker, GrpcChannel channel, string grpcAddress)
    {
        _sidecar = sidecar;
        _worker = worker;
        _channel = channel;
        GrpcAddress = grpcAddress;
        Client = worker.Services.GetRequiredService<DurableTaskClient>();
    }

    /// <summary>Schedules, queries and waits for orchestrations.</summary>
    public DurableTaskClient Client { get; }

    /// <summary>The worker's services (what <c>configureServices</c> registered), e.g. to resolve stores.</summary>
    public IServiceProvider Services => _worker.Services;

    /// <summary>The sidecar's gRPC address (http://127.0.0.1:port).</summary>
    public string GrpcAddress { get; }

    /// <param name="registerTasks">Adds the orchestrators and activities.</param>
    /// <param name="configureServices">Registers what activities need (they are created through DI).</param>
    public static async Task<LocalDurableHost> StartAsync(
        LocalDurableHostOptions options,
        Action<DurableTaskRegistry> registerTasks,
        Action<IServiceCollection>? configureServices = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ValidateTaskHubName(options.TaskHubName);
        loggerFactory ??= NullLoggerFactory.Instance;

        var settings = new AzureStorageOrchestrationServiceSettings
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
            LoggerFactory = loggerFactory,
        };
        var service = new AzureStorageOrchestrationService(settings);
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

        var sidecarBuilder = WebApplication.CreateSlimBuilder();
        sidecarBuilder.Logging.ClearProviders();
        sidecarBuilder.Services.AddSingleton(loggerFactory);
        sidecarBuilder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        sidecarBuilder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 4 * 1024 * 1024);
        sidecarBuilder.Services.AddSingleton<IOrchestrationService>(service);
        sidecarBuilder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        sidecarBuilder.Services.AddSingleton<TaskHubGrpcServer>();
        var sidecar = sidecarBuilder.Build();
        sidecar.MapGrpcService<TaskHubGrpcServer>();
        await sidecar.StartAsync(cancellationToken);

        var grpcAddress = sidecar.Services.GetRequiredService<IServer>().Features
            .Get<IServerAddressesFeature>()!.Addresses.Single();
        var channel = GrpcChannel.ForAddress(grpcAddress);

        var workerBuilder = Host.CreateApplicationBuilder();
        workerBuilder.Logging.ClearProviders();
        workerBuilder.Services.AddSingleton(loggerFactory);
        configureServices?.Invoke(workerBuilder.Services);
        workerBuilder.Services.AddDurableTaskWorker(worker =>
        {
            worker.UseGrpc(channel);
            worker.AddTasks(registry =>
            {
                registerTasks(registry);
                registry.AddOrchestratorFunc(EngineReadyOrchestration, _ => Task.CompletedTask);
            });
            worker.Configure(o => o.Concurrency.MaximumConcurrentActivityWorkItems = options.MaxConcurrentActivities);
        });
        workerBuilder.Services.AddDurableTaskClient(client =>
        {
            client.UseGrpc(channel);
            client.RegisterDirectly();
        });
        var worker = workerBuilder.Build();
        await worker.StartAsync(cancellationToken);

        var host = new LocalDurableHost(sidecar, worker, channel, grpcAddress);
        try
        {
            await host.WaitUntilEngineRunsAsync(cancellationToken);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>A no-op orchestration whose round trip shows the engine is running.</summary>
    private const string EngineReadyOrchestration = "EngineReady";

    /// <summary>
    /// The sidecar starts the Azure Storage engine only after the worker connects, on a background callback, and the
    /// engine's stop assumes its start has run: stopping in between crashes the process. So start-up waits for one
    /// no-op orchestration to complete (then removes its history), which also proves the engine works.
    /// </summary>
    private async Task WaitUntilEngineRunsAsync(CancellationToken cancellationToken)
    {
        var instanceId = $"engine-ready-{Guid.NewGuid():N}";
        await Client.ScheduleNewOrchestrationInstanceAsync(EngineReadyOrchestration,
            new StartOrchestrationOptions(instanceId), cancellationToken);
        await Client.WaitForInstanceCompletionAsync(instanceId, cancellationToken);
        await Client.PurgeInstanceAsync(instanceId, cancellation: cancellationToken);
    }

    private static void ValidateTaskHubName(string name)
    {
        if (name.Length is < 3 or > 45 || !char.IsAsciiLetter(name[0]) || !name.All(char.IsAsciiLetterOrDigit))
            throw new ArgumentException(
                $"Task hub name '{name}' is invalid: use 3-45 letters and digits, starting with a letter.", nameof(name));
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _worker.StopAsync(timeout.Token);
        _worker.Dispose();
        await _channel.ShutdownAsync();
        _channel.Dispose();
        await _sidecar.StopAsync(timeout.Token);
        await _sidecar.DisposeAsync();
    }
}
