using System.Net;
using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Durable;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Hosting;

public sealed record LocalServerOptions
{
    /// <summary>HTTP port on 127.0.0.1; 0 picks a free one. <c>ca serve</c> defaults to 7071 like <c>func</c>.</summary>
    public int Port { get; init; } = 7071;
    public bool EnableRetrainingTimer { get; init; } = true;
    public LocalDurableHostOptions Durable { get; init; } = new();
}

/// <summary>
/// <c>ca serve</c>: Kestrel with the pipeline's HTTP API plus the Durable engine in-process
/// (<see cref="LocalDurableHost"/> on Azure Storage/Azurite) and the retraining timer. The API and the activities
/// share one set of stores and one model cache, so a promotion swaps the served model at once.
/// </summary>
public sealed class LocalPipelineServer : IAsyncDisposable
{
    private readonly WebApplication _web;

    private readonly ProductionModelCache _models;

    private LocalPipelineServer(WebApplication web, LocalDurableHost durable, ProductionModelCache models, Uri address)
    {
        _web = web;
        _models = models;
        Durable = durable;
        Address = address;
    }

    public LocalDurableHost Durable { get; }

    /// <summary>The API's base address, e.g. http://127.0.0.1:7071/.</summary>
    public Uri Address { get; }

    public IServiceProvider Services => _web.Services;

    /// <summary>Completes when the host is asked to stop: SIGTERM or Ctrl+C (the web host's console lifetime takes
    /// those signals), or <paramref name="cancellationToken"/>.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _web.WaitForShutdownAsync(cancellationToken);

    public static async Task<LocalPipelineServer> StartAsync(PipelineConfig config, PipelinePlugins plugins,
        LocalServerOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        var storage = new PipelineStorage(config.Storage.ToOptions());
        await storage.EnsureCreatedAsync(cancellationToken);
        var artifacts = new ArtifactStore(storage);
        var runs = new RunStore(storage);
        var registry = new ModelRegistry(storage);
        var models = new ProductionModelCache(registry, artifacts, plugins.ModelLoader, TimeProvider.System);

        void AddShared(IServiceCollection services)
        {
            services.AddSingleton(config);
            services.AddSingleton(config.Storage.ToOptions());
            services.AddSingleton(storage).AddSingleton(artifacts).AddSingleton(runs).AddSingleton(registry);
            services.AddSingleton(models).AddSingleton<IPromotionListener>(models);
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton(plugins.Preparer).AddSingleton(plugins.TrialRunner)
                .AddSingleton(plugins.Evaluator).AddSingleton(plugins.ModelLoader);
            services.AddSingleton<TrainingLauncher>();
        }

        var durable = await LocalDurableHost.StartAsync(
            options.Durable with
            {
                StorageConnectionString = config.Storage.ConnectionString,
            },
            tasks => tasks.AddTrainingTasks(), AddShared, loggerFactory, cancellationToken);
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            if (loggerFactory != null) builder.Services.AddSingleton(loggerFactory);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.Port));
            AddShared(builder.Services);
            builder.Services.AddSingleton(durable.Client);
            builder.Services.AddSingleton<PipelineApi>();
            builder.Services.AddSingleton<RetrainingJob>();
            builder.Services.AddProblemDetails();
            if (options.EnableRetrainingTimer)
                builder.Services.AddHostedService<RetrainingTimer>();
            var web = builder.Build();
            web.MapCustomerAnalysisApi().MapCustomerAnalysisUi();
            await web.StartAsync(cancellationToken);
            var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
                .Addresses.Single();
            return new LocalPipelineServer(web, durable, models, new Uri(address.TrimEnd('/') + "/"));
        }
        catch
        {
            await durable.DisposeAsync();
            models.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
        await Durable.DisposeAsync();
        _models.Dispose();
    }
}
