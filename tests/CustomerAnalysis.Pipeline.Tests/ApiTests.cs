using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class ApiTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Training_through_the_api_promotes_a_model_that_then_serves_predictions()
    {
        await using var server = await ServerHarness.StartAsync(azurite);

        var status = await server.TrainAsync("""{"source": "synthetic:400", "task": "events"}""");
        Assert.Equal("Completed", status.GetProperty("runtime_status").GetString());
        Assert.Equal("completed", status.GetProperty("run").GetProperty("status").GetString());
        Assert.Equal("done", status.GetProperty("progress").GetProperty("stage").GetString());
        Assert.Equal(2, status.GetProperty("trials").GetArrayLength());
        var result = status.GetProperty("result");
        Assert.True(result.GetProperty("promoted").GetBoolean());
        var version = result.GetProperty("model_version").GetInt32();

        using var predict = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["page_view", {"name": "view_item", "timestamp": "2021-01-31T10:00:00Z"}], "top": 2}""",
            withKey: false));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var prediction = await predict.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("next-event", prediction.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal(version, prediction.GetProperty("model").GetProperty("version").GetInt32());
        var first = prediction.GetProperty("predictions")[0];
        Assert.Equal(2, first.GetProperty("top").GetArrayLength());
        // The funnel rule of the synthetic data: after view_item comes add_to_cart.
        Assert.Equal("add_to_cart", first.GetProperty("top")[0].GetProperty("event").GetString());
        Assert.Equal(["page_view", "view_item"],
            first.GetProperty("attention").EnumerateArray().Select(a => a.GetProperty("event").GetString()));

        using var batch = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"sessions": [["page_view"], ["add_to_cart"]]}"""));
        Assert.Equal(2, (await batch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions").GetArrayLength());

        var runs = await (await server.Http.SendAsync(ServerHarness.Get("api/runs"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Single(runs.GetProperty("runs").EnumerateArray());
        var models = await (await server.Http.SendAsync(ServerHarness.Get("api/models"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Production", models.GetProperty("models")[0].GetProperty("stage").GetString());

        // Archiving production by hand: predictions then say there is no production model.
        using var archive = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post,
            $"api/models/next-event/versions/{version}/stage", """{"stage": "Archived"}"""));
        Assert.Equal(HttpStatusCode.OK, archive.StatusCode);
        using var none = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["page_view"]}"""));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    public static TheoryData<string, string, string, bool, string, int, string> BadRequests => new()
    {
        // method, path, body, with key, content type, expected status, expected words in the detail
        { "POST", "api/training", """{"source": "x", "task": "events"}""", false, "application/json", 401, "x-api-key" },
        { "POST", "api/models/m/versions/1/stage", """{"stage": "Production"}""", false, "application/json", 401, "x-api-key" },
        { "GET", "api/runs", "", false, "application/json", 401, "x-api-key" },
        { "POST", "api/training", "source=x", true, "text/plain", 415, "application/json" },
        { "POST", "api/training", "{", true, "application/json", 400, "not valid JSON" },
        { "POST", "api/training", "[1]", true, "application/json", 400, "JSON object" },
        { "POST", "api/training", """{"task": "events"}""", true, "application/json", 400, "'source' is required" },
        { "POST", "api/training", """{"source": "x", "task": "weather"}""", true, "application/json", 400, "'task'" },
        { "POST", "api/training", """{"source": 5, "task": "events"}""", true, "application/json", 400, "wrong type" },
        { "POST", "api/training", """{"source": "x", "task": "events", "name": "a b"}""", true, "application/json", 400, "'name'" },
        { "POST", "api/training", """{"source": "x", "task": "events", "model": "gpt"}""", true, "application/json", 400, "Unknown model 'gpt'" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"prepare": {"sede": 7}}}""", true, "application/json", 400, "overrides.prepare: unknown key \"sede\"" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"grid": {"num_layers": []}}}""", true, "application/json", 400, "grid_search_params.num_layers must be a non-empty array" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"grid": {"lr": [1]}}}""", true, "application/json", 400, "Unknown setting grid_search_params.lr" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"config": {"model_training_params.num_epochs": 0}}}""", true, "application/json", 400, "num_epochs" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"config": {"pipeline_params": {"grid_search_metric": "roc_auc"}}}}""", true, "application/json", 400, "grid_search_metric 'roc_auc'" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"config": {"epochs": 3}}}""", true, "application/json", 400, "group.key" },
        { "POST", "api/training", $$"""{"source": "{{new string('x', 5000)}}"}""", true, "application/json", 413, "limit" },
        { "GET", "api/training/nope", "", true, "application/json", 404, "nope" },
        // Route values that Table keys refuse: no such run / an invalid model name, never a storage error.
        { "GET", "api/training/a%23b", "", true, "application/json", 404, "No training run 'a#b'" },
        { "GET", "api/training/a%3Fb", "", true, "application/json", 404, "No training run 'a?b'" },
        { "GET", "api/training/a%5Cb", "", true, "application/json", 404, "No training run" },
        { "POST", "api/models/a%23b/versions/1/stage", """{"stage": "Staging"}""", true, "application/json", 400, "'name' 'a#b' is invalid" },
        { "POST", "api/models/a%3Fb/versions/1/stage", """{"stage": "Staging"}""", true, "application/json", 400, "'name' 'a?b' is invalid" },
        { "POST", "api/models/a%2Fb/versions/1/stage", """{"stage": "Staging"}""", true, "application/json", 400, "is invalid" },
        { "POST", "api/models/m/versions/x/stage", """{"stage": "Staging"}""", true, "application/json", 400, "positive integer" },
        { "POST", "api/models/m/versions/1/stage", """{"stage": "Gold"}""", true, "application/json", 400, "'stage' must be one of" },
        { "POST", "api/models/m/versions/1/stage", """{"stage": "Staging"}""", true, "application/json", 404, "no version 1" },
        { "POST", "api/predict/next-event", """{"events": []}""", false, "application/json", 400, "'events' is empty" },
        { "POST", "api/predict/next-event", """{"events": ["a", 3]}""", false, "application/json", 400, "'events[1]'" },
        { "POST", "api/predict/next-event", """{"events": [{"name": "a", "timestamp": 5}]}""", false, "application/json", 400, "timestamp" },
        { "POST", "api/predict/next-event", """{"sessions": [["a"], "b"]}""", false, "application/json", 400, "'sessions[1]'" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": 0}""", false, "application/json", 400, "'top'" },
        { "POST", "api/predict/next-event", """{"clicks": ["a"]}""", false, "application/json", 400, "'events'" },
        { "POST", "api/predict/next-event", """{"events": ["a"]}""", false, "application/json", 404, "No production model 'next-event'" },
        { "POST", "api/predict/next-event", "", false, "application/json", 400, "empty" },
        { "POST", "api/predict/churn", """{"users": []}""", false, "application/json", 400, "'users' is empty" },
        { "POST", "api/predict/churn", """{"events": ["a"]}""", false, "text/csv", 415, "application/json" },
        { "POST", "api/predict/churn", """{"events": ["a"]}""", false, "application/json", 404, "No production model 'churn'" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_a_problem_naming_the_problem(
        string method, string path, string body, bool withKey, string contentType, int status, string detail)
    {
        await using var server = await SharedServer();
        using var request = method == "GET"
            ? ServerHarness.Get(path, withKey)
            : ServerHarness.Json(HttpMethod.Post, path, body, withKey, contentType);
        using var response = await server.Http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Concurrent_stage_changes_answer_200_or_409_never_500()
    {
        await using var server = await SharedServer();
        var registry = server.Services.GetRequiredService<Storage.ModelRegistry>();
        var name = AzuriteFixture.UniqueName("conflict");
        var version = (await registry.RegisterAsync(name, "run1", "events", "b1",
            new Dictionary<string, double> { ["accuracy"] = 0.5 }, DateTimeOffset.UnixEpoch)).Version;

        // Parallel changes read the same ETag and race; the losers must get 409. Rounds until a race happened.
        var statuses = new List<HttpStatusCode>();
        for (var round = 0; round < 60 && !statuses.Contains(HttpStatusCode.Conflict); round++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => server.Http.SendAsync(
                ServerHarness.Json(HttpMethod.Post, $"api/models/{name}/versions/{version}/stage",
                    i % 2 == 0 ? """{"stage": "Staging"}""" : """{"stage": "Production"}"""))));
            foreach (var response in responses)
            {
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.Conflict)
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                response.Dispose();
            }
        }
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        Assert.Contains(HttpStatusCode.Conflict, statuses);
    }

    [Fact]
    public async Task The_local_server_serves_the_page_at_the_root_and_at_ui_without_a_key()
    {
        // The shared server: a server disposed right after it starts can crash the test host inside DTFx.
        await using var server = await SharedServer();

        foreach (var path in new[] { "", "ui" })
        {
            using var response = await server.Http.SendAsync(ServerHarness.Get(path, withKey: false));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("utf-8", response.Content.Headers.ContentType.CharSet);
            Assert.Contains("connect-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal(Api.UiPage.Html, await response.Content.ReadAsStringAsync());
        }
        // The API beside it is unchanged: admin routes still need the key.
        using var runs = await server.Http.SendAsync(ServerHarness.Get("api/runs", withKey: false));
        Assert.Equal(HttpStatusCode.Unauthorized, runs.StatusCode);
    }

    [Fact]
    public async Task Closed_predictions_need_the_key()
    {
        await using var server = await ServerHarness.StartAsync(azurite,
            configure: c => c with { Api = c.Api with { PredictionsOpen = false } });
        using var without = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["a"]}""", withKey: false));
        using var with = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["a"]}""", withKey: true));
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, with.StatusCode); // past the key check: no model yet
    }

    [Fact]
    public async Task The_retraining_timer_skips_while_a_run_is_active()
    {
        var runner = new GatedTrialRunner();
        await using var server = await ServerHarness.StartAsync(azurite, runner);
        var job = server.Server.Services.GetRequiredService<RetrainingJob>();
        var client = server.Server.Services.GetRequiredService<DurableTaskClient>();

        var first = Assert.Single(await job.RunAsync(client, CancellationToken.None));
        await runner.Entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(await job.RunAsync(client, CancellationToken.None));

        runner.Release.SetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var done = await client.WaitForInstanceCompletionAsync(first, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var second = Assert.Single(await job.RunAsync(client, CancellationToken.None));
        Assert.NotEqual(first, second);
        await client.WaitForInstanceCompletionAsync(second, timeout.Token);
    }

    private static readonly SemaphoreSlim SharedLock = new(1, 1);
    private static ServerHarness? _shared;

    /// <summary>One server for the stateless bad-request cases (never disposed before the process ends: a
    /// <see cref="NoDispose"/> wrapper keeps <c>await using</c> from stopping it).</summary>
    private async Task<NoDispose> SharedServer()
    {
        await SharedLock.WaitAsync();
        try
        {
            return new NoDispose(_shared ??= await ServerHarness.StartAsync(azurite));
        }
        finally
        {
            SharedLock.Release();
        }
    }

    private sealed class NoDispose(ServerHarness server) : IAsyncDisposable
    {
        public HttpClient Http => server.Http;
        public IServiceProvider Services => server.Server.Services;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
