using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CustomerAnalysis.LocalHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>The local server (Kestrel on 127.0.0.1, a free port) on Azurite with the lookup-table doubles.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    public const string Key = "test-key";

    private ServerHarness(WebApplication server, PipelineConfig config)
    {
        Server = server;
        Config = config;
        Http = new HttpClient { BaseAddress = server.Address() };
    }

    public WebApplication Server { get; }
    public PipelineConfig Config { get; }
    public HttpClient Http { get; }

    public static Task<ServerHarness> StartAsync(AzuriteFixture azurite, ITrialRunner? runner = null,
        Func<PipelineConfig, PipelineConfig>? configure = null) =>
        StartAsync(azurite, services =>
        {
            services.AddSingleton<IDatasetPreparer, SyntheticPreparer>();
            services.AddSingleton(runner ?? new LookupTrialRunner());
            services.AddSingleton<IEvaluator, LookupEvaluator>();
            services.AddSingleton<IModelLoader, LookupModelLoader>();
        }, configure);

    /// <param name="learning">Registers the trial runner, evaluator and model loader (doubles or the real ones), and a
    /// preparer unless the real one (sources on disk) is wanted; the harness adds one in-process trial worker.</param>
    public static async Task<ServerHarness> StartAsync(AzuriteFixture azurite, Action<IServiceCollection> learning,
        Func<PipelineConfig, PipelineConfig>? configure = null)
    {
        var config = new PipelineConfig
        {
            Storage = new() { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("t") },
            Api = new() { AdminKey = Key, MaxBodyBytes = 4096 },
            ModelConfigDirectory = LookupModelConfigs.Directory,
            Models = new() { Events = new() { Name = "next-event", Model = LookupModelConfigs.Name } },
            Retraining = new() { Source = "synthetic:300", Tasks = ["events"] },
            TaskHub = AzuriteFixture.UniqueName("hub"),
            Workers = new() { CheckIntervalSeconds = 5 },
        };
        config = configure?.Invoke(config) ?? config;
        var server = await LocalPipelineHost.StartAsync(config, new LocalHostOptions(Port: 0, RetrainingTimer: false),
            services =>
            {
                learning(services);
                services.AddTrialWorker(config.Storage.ToOptions(), PipelineHarness.FastWorker);
            });
        return new ServerHarness(server, config);
    }

    public static HttpRequestMessage Json(HttpMethod method, string path, string body, bool withKey = true,
        string contentType = "application/json")
    {
        var content = new StringContent(body, Encoding.UTF8);
        // Parsed as a whole header, so a type with parameters (a charset) can be sent as it is.
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (withKey) request.Headers.Add("x-api-key", Key);
        return request;
    }

    public static HttpRequestMessage Get(string path, bool withKey = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (withKey) request.Headers.Add("x-api-key", Key);
        return request;
    }

    /// <summary>Starts training through the API and polls its status URL until the run ends.</summary>
    public async Task<JsonElement> TrainAsync(string body)
    {
        using var start = await Http.SendAsync(Json(HttpMethod.Post, "api/training", body));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, start.StatusCode);
        var accepted = await start.Content.ReadFromJsonAsync<JsonElement>();
        var statusUrl = accepted.GetProperty("status_url").GetString()!;
        Assert.Equal(statusUrl, start.Headers.Location!.ToString());
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            using var status = await Http.SendAsync(Get(statusUrl));
            // A 503 (the route's storage deadline passed under load) says to come back, as a client would.
            if (status.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
                continue;
            }
            var json = await status.Content.ReadFromJsonAsync<JsonElement>();
            var runtime = json.GetProperty("runtime_status").GetString();
            if (runtime is "Completed" or "Failed" or "Terminated") return json;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Run still {runtime}: {json}");
            await Task.Delay(200);
        }
    }

    /// <summary>Registers <paramref name="model"/> as a version of the churn model and puts it in production (the
    /// way a run's Register and Promote activities do), so that the churn route serves it.</summary>
    public async Task<int> ServeChurnLookupAsync(LookupChurnCheckpoint model, string runId = "churn-lookup")
    {
        var services = Server.Services;
        var path = Path.Combine(Path.GetTempPath(), $"ca-churn-{Guid.NewGuid():N}.json");
        model.Save(path);
        var blob = $"runs/{runId}/trials/t000/checkpoint.bin";
        await services.GetRequiredService<Storage.ArtifactStore>().UploadFileAsync(blob, path);
        File.Delete(path);
        var registry = services.GetRequiredService<Storage.ModelRegistry>();
        var version = await registry.RegisterAsync(Config.Models.Churn.Name, runId, "churn", blob,
            new Dictionary<string, double> { ["roc_auc"] = 0.7 }, DateTimeOffset.UtcNow);
        var current = (await registry.GetProductionAsync(Config.Models.Churn.Name))?.Version;
        Assert.True((await registry.PromoteAsync(Config.Models.Churn.Name, version.Version, current)).Promoted);
        return version.Version;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
    }
}
