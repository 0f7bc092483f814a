using System.Net;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Pipeline.Scoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.LocalHost;

/// <param name="Port">HTTP port on 127.0.0.1; 0 picks a free one. <c>ca serve</c> defaults to 7071 like <c>func</c>.</param>
/// <param name="Workers">The trial worker processes to run beside the host; null: none (work is left on the queue for
/// workers started elsewhere, or for an in-process worker a test adds).</param>
public sealed record LocalHostOptions(int Port = 7071, bool RetrainingTimer = true, TrialWorkerProcessOptions? Workers = null);

/// <summary>
/// <c>ca serve</c> and <c>ca run</c>: one web host whose container holds the pipeline (API, activities, stores, model
/// cache), the local Durable engine, the completion relay, the retraining timer and the trial worker processes. The
/// API and the activities share one set of stores and one model cache, so a promotion swaps the served model at once.
/// </summary>
public static class LocalPipelineHost
{
    /// <param name="configureServices">Adds the host's model loader (<c>AddTorchServing</c>) or test doubles.</param>
    public static async Task<WebApplication> StartAsync(PipelineConfig config, LocalHostOptions options,
        Action<IServiceCollection> configureServices, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (loggerFactory != null) builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port);
            RequestHeadLimits.ConfigureKestrel(kestrel.Limits);
        });
        builder.Services.AddProblemDetails();
        builder.Services
            .AddCustomerAnalysisPipeline(config)
            .AddLocalDurableEngine(config.ToLocalEngineOptions(), tasks => tasks.AddTrainingTasks().AddScoringTasks())
            .AddCompletionListener();
        if (options.Workers != null) builder.Services.AddTrialWorkerProcesses(options.Workers);
        if (options.RetrainingTimer) builder.Services.AddHostedService<RetrainingTimer>();
        configureServices(builder.Services);

        var web = builder.Build();
        web.UseCustomerAnalysisProblems();
        web.MapCustomerAnalysisApi().MapCustomerAnalysisUi();
        await web.StartAsync(cancellationToken);
        return web;
    }

    /// <summary>The API's base address, e.g. http://127.0.0.1:7071/.</summary>
    public static Uri Address(this WebApplication web) =>
        new(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()
            .TrimEnd('/') + "/");

    public static LocalDurableEngineOptions ToLocalEngineOptions(this PipelineConfig config) => new()
    {
        StorageConnectionString = config.Storage.ConnectionString,
        TaskHubName = config.TaskHub,
    };
}
