using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Durable;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>The local server (Kestrel on 127.0.0.1, a free port) on Azurite with the lookup-table doubles.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    public const string Key = "test-key";

    private ServerHarness(LocalPipelineServer server, PipelineConfig config)
    {
        Server = server;
        Config = config;
        Http = new HttpClient { BaseAddress = server.Address };
    }

    public LocalPipelineServer Server { get; }
    public PipelineConfig Config { get; }
    public HttpClient Http { get; }

    public static Task<ServerHarness> StartAsync(AzuriteFixture azurite, ITrialRunner? runner = null,
        Func<PipelineConfig, PipelineConfig>? configure = null) =>
        StartAsync(azurite, new PipelinePlugins(new SyntheticPreparer(), runner ?? new LookupTrialRunner(),
            new LookupEvaluator(), new LookupModelLoader()), configure);

    public static async Task<ServerHarness> StartAsync(AzuriteFixture azurite, PipelinePlugins plugins,
        Func<PipelineConfig, PipelineConfig>? configure = null)
    {
        var config = new PipelineConfig
        {
            Storage = new() { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("t") },
            Api = new() { AdminKey = Key, MaxBodyBytes = 4096 },
            ModelConfigDirectory = LookupModelConfigs.Directory,
            Models = new() { Events = new() { Name = "next-event", Model = LookupModelConfigs.Name } },
            Retraining = new() { Source = "synthetic:300", Tasks = ["events"] },
        };
        config = configure?.Invoke(config) ?? config;
        var server = await LocalPipelineServer.StartAsync(config, plugins,
            new LocalServerOptions
            {
                Port = 0,
                EnableRetrainingTimer = false,
                Durable = new LocalDurableHostOptions { TaskHubName = AzuriteFixture.UniqueName("hub") },
            });
        return new ServerHarness(server, config);
    }

    public static HttpRequestMessage Json(HttpMethod method, string path, string body, bool withKey = true,
        string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
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
            var json = await status.Content.ReadFromJsonAsync<JsonElement>();
            var runtime = json.GetProperty("runtime_status").GetString();
            if (runtime is "Completed" or "Failed" or "Terminated") return json;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Run still {runtime}: {json}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
