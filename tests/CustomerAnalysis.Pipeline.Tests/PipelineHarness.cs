using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.LocalHost;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Workers;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>The local Durable host on Azurite with the training tasks, fresh tables/containers/task hub, and the
/// lookup-table test doubles.</summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    private PipelineHarness(EngineHost host) => Host = host;

    public EngineHost Host { get; }
    public DurableTaskClient Client => Host.Client;
    public IServiceProvider Services => Host.Services;
    public RunStore Runs => Host.Services.GetRequiredService<RunStore>();
    public ModelRegistry Registry => Host.Services.GetRequiredService<ModelRegistry>();
    public ArtifactStore Artifacts => Host.Services.GetRequiredService<ArtifactStore>();
    public TrainingLauncher Launcher => Host.Services.GetRequiredService<TrainingLauncher>();
    public LookupTrialRunner Runner => (LookupTrialRunner)Host.Services.GetRequiredService<ITrialRunner>();
    public PipelineStorageOptions StorageOptions => Host.Services.GetRequiredService<PipelineStorageOptions>();

    public static async Task<PipelineHarness> StartAsync(AzuriteFixture azurite,
        Action<IServiceCollection>? configureServices = null)
    {
        var storageOptions = new PipelineStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            NamePrefix = AzuriteFixture.UniqueName("t"),
        };
        await new PipelineStorage(storageOptions).EnsureCreatedAsync();
        var host = await EngineHost.StartAsync(
            new LocalDurableEngineOptions
            {
                StorageConnectionString = azurite.ConnectionString,
                TaskHubName = AzuriteFixture.UniqueName("hub"),
            },
            tasks => tasks.AddTrainingTasks(),
            services =>
            {
                services.AddPipelineStorage(storageOptions);
                services.AddSingleton<TrainingLauncher>();
                services.AddSingleton<IDatasetPreparer, SyntheticPreparer>();
                services.AddSingleton<ITrialRunner, LookupTrialRunner>();
                services.AddSingleton<IEvaluator, LookupEvaluator>();
                services.AddSingleton<IModelLoader, LookupModelLoader>();
                // One trial worker in this process, and the completion relay, as the local host runs them.
                services.AddTrialWorker(storageOptions, FastWorker);
                services.AddCompletionListener();
                configureServices?.Invoke(services);
            });
        return new PipelineHarness(host);
    }

    /// <summary>Worker settings for tests: short leases so a lost item comes back quickly.</summary>
    public static readonly TrialWorkerOptions FastWorker = new()
    {
        Lease = TimeSpan.FromSeconds(6), MaxAttempts = 3, CancellationCheckInterval = TimeSpan.FromMilliseconds(500),
    };

    /// <summary>Waits with a short record check, so a test that loses a completion still ends quickly.</summary>
    public static readonly WorkWait FastWait = new(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5));

    /// <summary>An events run whose model config has this grid (keys are real config settings; see
    /// <see cref="LookupTrialRunner"/> for what the lookup doubles make of them).</summary>
    public static TrainingInput Input(object grid, string source = "synthetic:400") => new()
    {
        Source = source,
        Task = PredictionTask.Events,
        ModelName = "next-event",
        ModelConfig = ModelConfigJson(grid),
        Wait = FastWait,
    };

    public static string ModelConfigJson(object grid) => LookupModelConfigs.Json(grid);

    public async Task<OrchestrationMetadata> RunToEndAsync(TrainingInput input)
    {
        var runId = await Launcher.StartAsync(Client, input);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        return await Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
