using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class ProductionModelCacheTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, double> Metrics = new() { ["accuracy"] = 0.5 };

    /// <summary>A "checkpoint" is its version number as text; loads are counted, and can be held or made to fail.</summary>
    private sealed class VersionLoader : IModelLoader
    {
        private int _loads;
        public int Loads => _loads;
        public TaskCompletionSource? Gate { get; set; }
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Exception? Failure { get; set; }

        public async Task<IPredictor> LoadAsync(string checkpointPath, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _loads);
            var version = int.Parse(await File.ReadAllTextAsync(checkpointPath, cancellationToken));
            if (Failure != null) throw Failure;
            if (Gate is { } gate && version == 1)
            {
                Entered.TrySetResult();
                await gate.Task;
            }
            return new VersionPredictor();
        }
    }

    private sealed class VersionPredictor : IPredictor
    {
        public PredictionTask Task => PredictionTask.Events;
        public double ChurnThreshold => 0.5;
        public IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top) =>
            sessions.Select(s => new NextEventPrediction([new EventProbability("x", 1)], s.Select(_ => 1.0 / s.Count).ToList())).ToList();
        public IReadOnlyList<ChurnPrediction> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users) => throw new NotSupportedException();
        public void Dispose() { }
    }

    private async Task<(ModelRegistry Registry, ArtifactStore Artifacts)> NewStoresAsync()
    {
        var storage = new PipelineStorage(new PipelineStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            NamePrefix = AzuriteFixture.UniqueName("t"),
        });
        await storage.EnsureCreatedAsync();
        return (new ModelRegistry(storage), new ArtifactStore(storage));
    }

    private static async Task<int> RegisterAsync(ModelRegistry registry, ArtifactStore artifacts, string run)
    {
        var blob = $"runs/{run}/model.ckpt";
        var version = await registry.RegisterAsync("m", run, "events", blob, Metrics, DateTimeOffset.UnixEpoch);
        await artifacts.UploadAsync(blob, new MemoryStream(Encoding.UTF8.GetBytes(version.Version.ToString())));
        return version.Version;
    }

    [Fact]
    public async Task A_production_change_that_keeps_the_version_keeps_the_loaded_model()
    {
        var (registry, artifacts) = await NewStoresAsync();
        var loader = new VersionLoader();
        using var cache = new ProductionModelCache(registry, artifacts, loader, TimeProvider.System);
        var v1 = await RegisterAsync(registry, artifacts, "run1");
        await registry.PromoteAsync("m", v1, null);

        Assert.Equal(v1, (await cache.GetAsync("m"))!.Version);
        cache.OnPromoted("m", v1); // e.g. another version's stage changed by hand: production is still v1
        var served = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => cache.GetAsync("m")));

        Assert.All(served, s => Assert.Equal(v1, s!.Version));
        Assert.Equal(1, loader.Loads);
    }

    [Fact]
    public async Task A_load_that_a_promotion_overtook_does_not_install_the_older_model()
    {
        var (registry, artifacts) = await NewStoresAsync();
        var loader = new VersionLoader { Gate = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var cache = new ProductionModelCache(registry, artifacts, loader, TimeProvider.System);
        var v1 = await RegisterAsync(registry, artifacts, "run1");
        var v2 = await RegisterAsync(registry, artifacts, "run2");
        await registry.PromoteAsync("m", v1, null);

        var request = cache.GetAsync("m");
        await loader.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30)); // loading v1
        Assert.True((await registry.PromoteAsync("m", v2, v1)).Promoted);
        cache.OnPromoted("m", v2);
        loader.Gate.SetResult();

        Assert.Equal(v2, (await request)!.Version);
        Assert.Equal(v2, (await cache.GetAsync("m"))!.Version);
    }

    [Fact]
    public async Task A_damaged_production_checkpoint_is_a_503_not_a_400()
    {
        var loader = new VersionLoader { Failure = new Core.InvalidInputException("Checkpoint header is damaged.") };
        await using var server = await ServerHarness.StartAsync(azurite,
            services => services.AddSingleton<IDatasetPreparer, SyntheticPreparer>().AddSingleton<ITrialRunner, LookupTrialRunner>().AddSingleton<IEvaluator, LookupEvaluator>()
                .AddSingleton<IModelLoader>(loader));
        var registry = server.Server.Services.GetRequiredService<ModelRegistry>();
        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        var blob = "runs/run1/model.ckpt";
        var version = await registry.RegisterAsync("next-event", "run1", "events", blob, Metrics, DateTimeOffset.UnixEpoch);
        await artifacts.UploadAsync(blob, new MemoryStream("1"u8.ToArray()));
        await registry.PromoteAsync("next-event", version.Version, null);

        using var response = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["page_view"]}""", withKey: false));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Contains("'next-event' v1 cannot be loaded", detail);
        Assert.Contains("damaged", detail);
    }
}
