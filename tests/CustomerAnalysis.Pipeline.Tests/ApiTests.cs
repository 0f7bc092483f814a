using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
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
        // The run's promotion gate is in the stage history as the system, with the gate's reason.
        var gate = Assert.Single(models.GetProperty("models")[0].GetProperty("stage_history").EnumerateArray());
        Assert.Equal("system", gate.GetProperty("by").GetString());
        Assert.StartsWith("promotion gate: test accuracy", gate.GetProperty("reason").GetString());

        // Archiving production by hand: predictions then say there is no production model.
        using var archive = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post,
            $"api/models/next-event/versions/{version}/stage", """{"stage": "Archived"}"""));
        Assert.Equal(HttpStatusCode.OK, archive.StatusCode);
        using var none = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["page_view"]}"""));
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Fact]
    public async Task Churn_predictions_carry_the_models_attention_per_input_event_with_unknown_events_marked()
    {
        await using var server = await ServerHarness.StartAsync(azurite);
        await server.ServeChurnLookupAsync(new LookupChurnCheckpoint(new() { ["purchase"] = 0.1, ["page_view"] = 0.8 }));

        using var predict = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/churn",
            """{"users": [["purchase", "mystery_event", "page_view"], ["page_view"]]}"""));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var predictions = (await predict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions");
        var first = predictions[0];
        Assert.Equal((0.1 + 0.5 + 0.8) / 3, first.GetProperty("probability").GetDouble(), 9);
        var attention = first.GetProperty("attention").EnumerateArray()
            .Select(a => (a.GetProperty("event").GetString(), a.GetProperty("weight").GetDouble())).ToList();
        // The model's own weights, one per input event in order: |0.1-0.5| and |0.8-0.5| of 0.7; the unknown one none.
        Assert.Equal(["purchase", "mystery_event", "page_view"], attention.Select(a => a.Item1));
        Assert.Equal([0.4 / 0.7, 0, 0.3 / 0.7], attention.Select(a => Math.Round(a.Item2, 9)), (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal([1], first.GetProperty("unknown").EnumerateArray().Select(i => i.GetInt32()));
        Assert.Single(predictions[1].GetProperty("attention").EnumerateArray());
        Assert.True(predictions[1].GetProperty("churned").GetBoolean());
    }

    [Fact]
    public async Task A_model_held_back_by_a_baseline_is_promoted_by_hand_only_with_force()
    {
        await using var server = await SharedServer();
        var name = AzuriteFixture.UniqueName("held");
        // num_layers 1 trains the lookup double's blind table: no better than the majority baseline.
        var status = await server.TrainAsync("""{"source": "synthetic:300", "task": "events", "name": """ + $"\"{name}\"" +
            """, "overrides": {"grid": {"num_layers": [1]}}}""");
        var result = status.GetProperty("result");
        Assert.False(result.GetProperty("promoted").GetBoolean());
        Assert.Contains("does not beat the majority baseline", result.GetProperty("promotion_reason").GetString());
        var version = result.GetProperty("model_version").GetInt32();
        var stage = $"api/models/{name}/versions/{version}/stage";

        using var refused = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, stage, """{"stage": "Production"}"""));
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("held back", problem.GetProperty("detail").GetString());
        Assert.Contains("\"force\": true", problem.GetProperty("detail").GetString());
        using var wrongForce = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, stage,
            """{"stage": "Production", "force": "yes"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, wrongForce.StatusCode);

        var forcing = ServerHarness.Json(HttpMethod.Post, stage,
            """{"stage": "Production", "force": true, "reason": "rollout of the new funnel"}""");
        forcing.Headers.Add(Api.PipelineApi.ClientHeader, "ops");
        using var forced = await server.Http.SendAsync(forcing);
        Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
        var promoted = await forced.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Production", promoted.GetProperty("stage").GetString());
        Assert.Contains("does not beat", promoted.GetProperty("held_back").GetString()); // still says why it was held
        Assert.Equal("ops via admin-key", Assert.Single(promoted.GetProperty("stage_history").EnumerateArray()).GetProperty("by").GetString());

        // The models route returns the stage history: who (the name given beside the key checked), when, why (the
        // reason given, and that the gate was overridden), from/to.
        var models = await (await server.Http.SendAsync(ServerHarness.Get("api/models"))).Content.ReadFromJsonAsync<JsonElement>();
        var history = models.GetProperty("models").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == name).GetProperty("stage_history");
        var change = Assert.Single(history.EnumerateArray());
        Assert.Equal(("None", "Production", "ops via admin-key"),
            (change.GetProperty("from").GetString(), change.GetProperty("to").GetString(), change.GetProperty("by").GetString()));
        var reason = change.GetProperty("reason").GetString();
        Assert.StartsWith("rollout of the new funnel; forced past the promotion gate (test accuracy", reason);
        Assert.InRange(change.GetProperty("at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddMinutes(1));

        // A bad caller name or reason is refused, and nothing is recorded.
        var badClient = ServerHarness.Json(HttpMethod.Post, stage, """{"stage": "Staging"}""");
        badClient.Headers.Add(Api.PipelineApi.ClientHeader, "bad name!");
        using var refusedClient = await server.Http.SendAsync(badClient);
        Assert.Equal(HttpStatusCode.BadRequest, refusedClient.StatusCode);
        Assert.Contains("x-ca-client", (await refusedClient.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        using var longReason = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, stage,
            $$"""{"stage": "Staging", "reason": "{{new string('r', 501)}}"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, longReason.StatusCode);
        var after = await (await server.Http.SendAsync(ServerHarness.Get("api/models"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Single(after.GetProperty("models").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == name).GetProperty("stage_history").EnumerateArray());
    }

    [Fact]
    public async Task Updates_delivered_again_after_the_last_never_move_a_run_back()
    {
        await using var server = await SharedServer();
        var name = AzuriteFixture.UniqueName("stale");
        var status = await server.TrainAsync("""{"source": "synthetic:300", "task": "events", "name": """ + $"\"{name}\"}}");
        var runId = status.GetProperty("run").GetProperty("run_id").GetString()!;
        Assert.Equal("completed", status.GetProperty("run").GetProperty("status").GetString());

        // The updates the orchestration sent before its last, delivered again after it (activities run at least once;
        // a host killed mid-run replays them): prepare's, the stage updates, and a failure that lost the race.
        var prepare = ActivatorUtilities.CreateInstance<PrepareDatasetActivity>(server.Services);
        await prepare.RunAsync(null!, new PrepareInput(runId, "synthetic:300", Core.Preparation.PredictionTask.Events,
            Core.Preparation.PrepareOptions.Default));
        var update = ActivatorUtilities.CreateInstance<UpdateRunActivity>(server.Services);
        foreach (var stage in new[] { TrainingStages.Train, TrainingStages.Evaluate, TrainingStages.Prepare })
            await update.RunAsync(null!, new RunUpdate(runId, RunStatus.Running, stage, null, null, null, null, null));
        await update.RunAsync(null!, new RunUpdate(runId, RunStatus.Failed, TrainingStages.Failed, null, null, null, null, "late"));

        using var own = await server.Http.SendAsync(ServerHarness.Get($"api/training/{runId}"));
        var run = (await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run");
        Assert.Equal(("completed", "done"), (run.GetProperty("status").GetString(), run.GetProperty("stage").GetString()));
        Assert.Equal(JsonValueKind.Null, run.GetProperty("error").ValueKind);
        Assert.Equal(status.GetProperty("run").GetRawText(), run.GetRawText()); // not a field changed
        using var list = await server.Http.SendAsync(ServerHarness.Get("api/runs"));
        var listed = (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runs").EnumerateArray()
            .Single(r => r.GetProperty("run_id").GetString() == runId);
        Assert.Equal(run.GetRawText(), listed.GetRawText()); // the runs list and the run's own status agree
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
        { "POST", "api/models/m/versions/1/stage", """{"stage": "Staging", "reason": 3}""", true, "application/json", 400, "'reason'" },
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
        // Text that cannot be decoded: a lone UTF-16 surrogate escape, in any string or key of any route.
        { "POST", "api/predict/next-event", """{"events": ["\ud800"]}""", false, "application/json", 400, "'events[0]' is not valid text: it holds a lone UTF-16 surrogate" },
        { "POST", "api/predict/next-event", """{"sessions": [["a", {"name": "x\udc00"}]]}""", false, "application/json", 400, "'sessions[0][1].name' is not valid text" },
        { "POST", "api/predict/next-event", """{"events": [{"name": "a", "timestamp": "\ud800"}]}""", false, "application/json", 400, "'events[0].timestamp' is not valid text" },
        { "POST", "api/predict/churn", """{"users": [["a"], ["\udbff"]]}""", false, "application/json", 400, "'users[1][0]' is not valid text" },
        { "POST", "api/predict/churn", """{"events": ["a"], "\ud800": 1}""", false, "application/json", 400, "A key in the body is not valid text" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"config": {"model_training_params.num_epochs": "\ud800"}}}""", true, "application/json", 400, "'overrides.config.model_training_params.num_epochs' is not valid text" },
        { "POST", "api/training", """{"source": "\udfff", "task": "events"}""", true, "application/json", 400, "'source' is not valid text" },
        { "POST", "api/models/m/versions/1/stage", """{"stage": "\ud800"}""", true, "application/json", 400, "'stage' is not valid text" },
        // 'top' of every wrong type.
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": "3"}""", false, "application/json", 400, "'top' must be an integer from 1 to 50 (got a string)" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": "NaN"}""", false, "application/json", 400, "'top' must be an integer from 1 to 50 (got a string)" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": true}""", false, "application/json", 400, "(got a boolean)" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": null}""", false, "application/json", 400, "(got null)" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": {}}""", false, "application/json", 400, "(got an object)" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": 2.5}""", false, "application/json", 400, "(got 2.5)" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": 1e400}""", false, "application/json", 400, "'top' must be an integer" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "top": NaN}""", false, "application/json", 400, "not valid JSON (line 1, byte 26)" },
        // Wrong JSON types, unknown and repeated fields: named in the API's words, never a .NET type.
        { "POST", "api/training", """{"source": "x", "task": 5}""", true, "application/json", 400, "'task' has the wrong type: expected a string, got a number" },
        { "POST", "api/training", """{"source": null, "task": "events"}""", true, "application/json", 400, "'source' has the wrong type: expected a string, got null" },
        { "POST", "api/training", """{"source": "x", "task": "events", "model": true}""", true, "application/json", 400, "'model' has the wrong type" },
        { "POST", "api/training", """{"source": "x", "task": "events", "name": ["a"]}""", true, "application/json", 400, "'name' has the wrong type: expected a string, got an array" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": "epochs=3"}""", true, "application/json", 400, "'overrides' has the wrong type: expected an object, got a string" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"config": []}}""", true, "application/json", 400, "'overrides.config' has the wrong type: expected an object, got an array" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"grid": 1}}""", true, "application/json", 400, "'overrides.grid' has the wrong type" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"prepare": null}}""", true, "application/json", 400, "'overrides.prepare' has the wrong type" },
        { "POST", "api/training", """{"source": "x", "task": "events", "overrides": {"gird": {}}}""", true, "application/json", 400, "Unknown field 'overrides.gird'" },
        { "POST", "api/training", """{"source": "x", "task": "events", "sorce": "y"}""", true, "application/json", 400, "Unknown field 'sorce'" },
        { "POST", "api/training", """{"source": "x", "source": "y", "task": "events"}""", true, "application/json", 400, "'source' is given twice" },
        { "POST", "api/models/m/versions/1/stage", """{"stage": 1}""", true, "application/json", 400, "'stage' has the wrong type: expected a string, got a number" },
        { "POST", "api/predict/next-event", """{"events": ["a"], "sessions": [["b"]]}""", false, "application/json", 400, "both 'events' and 'sessions'" },
        { "POST", "api/predict/next-event", """{"events": [{"name": "a", "time": "x"}]}""", false, "application/json", 400, "Unknown field 'events[0].time'" },
        { "POST", "api/predict/next-event", """{"events": "page_view"}""", false, "application/json", 400, "'events' must be an array of events (got a string)" },
        { "POST", "api/predict/churn", """{"users": {"a": ["b"]}}""", false, "application/json", 400, "'users' must be an array of arrays of events (got an object)" },
        { "POST", "api/predict/churn", """{"users": [["a"]], "threshold": 0.2}""", false, "application/json", 400, "Unknown field 'threshold'" },
        { "POST", "api/training", "\"source\"", true, "application/json", 400, "Body must be a JSON object (got a string)" },
        // Only JSON, and only in UTF-8.
        { "POST", "api/predict/next-event", """{"events": ["a"]}""", false, "text/plain", 415, "application/json" },
        { "POST", "api/training", """{"source": "x", "task": "events"}""", true, "application/x-www-form-urlencoded", 415, "application/json" },
        { "POST", "api/training", """{"source": "x", "task": "events"}""", true, "text/plain+json", 415, "application/json" },
        { "POST", "api/training", """{"source": "x", "task": "events"}""", true, "application/json; charset=iso-8859-1", 415, "charset must be utf-8" },
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
        AssertDisclosesNothing(problem);
    }

    /// <summary>A problem names fields and values in the API's words: no .NET type, no server path.</summary>
    private static void AssertDisclosesNothing(JsonElement problem)
    {
        var text = problem.GetRawText();
        foreach (var secret in new[] { "CustomerAnalysis.", "System.", "JsonObject", LookupModelConfigs.Directory,
                     Path.GetTempPath(), AppContext.BaseDirectory })
            Assert.DoesNotContain(secret, text);
    }

    public static TheoryData<string, string> BadSubmissions => new()
    {
        // request (source, task and overrides; {dir} is a folder of test files), expected words in the detail
        { """{"source": "synthetic:50", "task": "events", "overrides": {"grid": {"learning_rate": [0.01, -1, "x"]}}}""", "grid_search_params.learning_rate[1] = -1" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"grid": {"learning_rate": [0.01, "x"]}}}""", "grid_search_params.learning_rate[1] = \"x\"" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"grid": {"learning_rate": [null]}}}""", "grid_search_params.learning_rate must be a non-empty array of values" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"grid": {"learning_rate": {"log_uniform": [0.0001, 0.01]}}}}""", "grid_search_params.learning_rate is a range, which a grid cannot enumerate" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"config": {"pipeline_params.search": "random", "pipeline_params.search_trials": 4}, "grid": {"learning_rate": {"log_uniform": [0, 0.01]}}}}""", "grid_search_params.learning_rate.log_uniform must have low > 0" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"config": {"pipeline_params.search": "sweep"}}}""", "pipeline_params.search must be one of \"grid\", \"random\", \"asha\"" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"grid": {"num_layers": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "hidden_size": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "learning_rate": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]}}}""", "more than 1000 combinations" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"config": {"model_training_params.num_epochs": null}}}""", "num_epochs" },
        { """{"source": "synthetic:50", "task": "events", "overrides": {"config": {"model_training_params.learning_rate": "fast"}}}""", "learning_rate" },
        // Sources that can never work.
        { """{"source": "{dir}/missing", "task": "events"}""", "Input not found" },
        { """{"source": "{dir}/notes.txt", "task": "events"}""", "Unsupported input file" },
        { """{"source": "{dir}/fake.parquet", "task": "events"}""", "is not a Parquet file" },
        { """{"source": "{dir}/config.json", "task": "events"}""", "no \"event_name\"" },
        { """{"source": "{dir}/empty.ndjson", "task": "events"}""", "is empty" },
        { """{"source": "{dir}/csv.json", "task": "events"}""", "is not JSON" },
        { """{"source": "{dir}/events_*.parquet", "task": "events"}""", "No export files" },
        { """{"source": "{dir}/nowhere/*.json", "task": "events"}""", "does not exist" },
        { """{"source": "{dir}", "task": "events"}""", "config.json has no \"event_name\"" }, // a folder: each export file is checked
        { """{"source": "bq://project", "task": "events"}""", "Invalid BigQuery URI bq://project: expected project.dataset.table" },
        { """{"source": "bq://my-project.analytics.events_*", "task": "events"}""", "needs from=yyyymmdd" },
        { """{"source": "bq://my-project.analytics.events_*?from=20210231&to=20210301", "task": "events"}""", "from" },
        { """{"source": "blob://", "task": "events"}""", "names no container" },
        { """{"source": "blob:///prefix", "task": "events"}""", "names no container" },
        { """{"source": "blob://My_Data/prefix", "task": "events"}""", "'My_Data' is not a valid container name" },
        { """{"source": "blob://ab/x", "task": "events"}""", "'ab' is not a valid container name" },
        { """{"source": "blob://a--b/x", "task": "events"}""", "'a--b' is not a valid container name" },
        { """{"source": "blob://-ab/x", "task": "events"}""", "is not a valid container name" },
        { """{"source": "file:///data/events.parquet", "task": "events"}""", "Source scheme 'file://' is not read by the pipeline" },
        { """{"source": "http://example.com/events.json", "task": "events"}""", "Source scheme 'http://'" },
        { """{"source": "s3://bucket/events", "task": "events"}""", "Source scheme 's3://'" },
        { """{"source": "{dir}/events.ndjson\u0000.txt", "task": "events"}""", "control character (U+0000)" },
        { """{"source": "blob://data/a\nb", "task": "events"}""", "control character (U+000A)" },
    };

    [Theory]
    [MemberData(nameof(BadSubmissions))]
    public async Task A_training_request_that_can_never_work_is_refused_at_submit(string body, string detail)
    {
        await using var server = await SharedServer();
        var before = await RunCountAsync(server.Http);
        using var response = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/training",
            body.Replace("{dir}", SourceFiles.Value)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var given = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
        Assert.Contains(detail, given);
        Assert.Equal(before, await RunCountAsync(server.Http)); // nothing was recorded or started
    }

    [Fact]
    public void A_GA4_export_passes_the_submit_check()
    {
        // The counterpart of the refusals above: the real preparer's check lets real exports through.
        new ExportDatasetPreparer().CheckSource(Path.Combine(SourceFiles.Value, "events.ndjson"));
        new ExportDatasetPreparer().CheckSource(Path.Combine(SourceFiles.Value, "*.ndjson"));
        new ExportDatasetPreparer().CheckSource("bq://my-project.analytics.events_*?from=20210101&to=20210131");
        TrainingSources.Check("blob://ga4-exports/2021/", new ExportDatasetPreparer());
        var real = Path.Combine(AzuriteFixture.RepoRoot, "..", "shared", "data", "ga4");
        if (Directory.Exists(real) && Directory.EnumerateFiles(real, "*.parquet").FirstOrDefault() is { } parquet)
            new ExportDatasetPreparer().CheckSource(parquet);
    }

    private static async Task<int> RunCountAsync(HttpClient http)
    {
        using var response = await http.SendAsync(ServerHarness.Get("api/runs"));
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runs").GetArrayLength();
    }

    /// <summary>A folder of files that look like exports and are not (and one that is).</summary>
    private static readonly Lazy<string> SourceFiles = new(() =>
    {
        var dir = TestFolders.Create("ca-api-sources-");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not an export");
        File.WriteAllText(Path.Combine(dir, "fake.parquet"), "this is not parquet at all");
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "rnn"}""");
        File.WriteAllText(Path.Combine(dir, "empty.ndjson"), "");
        File.WriteAllText(Path.Combine(dir, "csv.json"), "event_name,user\npage_view,u1\n");
        File.WriteAllText(Path.Combine(dir, "events.ndjson"),
            """{"event_date": "20210101", "event_timestamp": "1609459200000000", "event_name": "page_view", "user_pseudo_id": "u1"}""" + "\n");
        return dir;
    });

    [Theory]
    [InlineData("api/predict/next-event", false)]
    [InlineData("api/predict/churn", false)]
    [InlineData("api/training", true)]
    [InlineData("api/models/m/versions/1/stage", true)]
    public async Task A_body_that_is_not_UTF8_is_a_problem_on_every_route(string path, bool withKey)
    {
        await using var server = await SharedServer();
        // {"events": ["a\xFF"]}: a byte that starts no UTF-8 character, inside a string.
        byte[] body = [.. "{\"events\": [\"a"u8, 0xFF, .. "\"]}"u8];
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        if (withKey) request.Headers.Add("x-api-key", ServerHarness.Key);
        using var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Body is not valid UTF-8 (at byte 14): JSON must be sent as UTF-8 text.",
            problem.GetProperty("detail").GetString());
    }

    public static TheoryData<string, string, int, string> HostAnswers => new()
    {
        // method, path, expected status, expected words in the detail
        { "GET", "api/nothing", 404, "No route for GET at this path" },
        { "GET", "api/training/../../etc/passwd", 404, "No route for GET at this path" },
        { "GET", "api/training/..%2F..%2Fetc", 404, "No training run '..%2F..%2Fetc'" },
        { "GET", "api/training", 405, "GET is not allowed on /api/training; allowed: POST" },
        { "DELETE", "api/runs", 405, "DELETE is not allowed on /api/runs; allowed: GET" },
        { "PUT", "api/predict/next-event", 405, "allowed: POST" },
    };

    [Theory]
    [MemberData(nameof(HostAnswers))]
    public async Task Answers_of_the_host_itself_are_problems_too(string method, string path, int status, string detail)
    {
        await using var server = await SharedServer();
        using var request = ServerHarness.Get(path);
        request.Method = new HttpMethod(method);
        using var response = await server.Http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task A_NUL_in_the_path_is_refused_before_any_route()
    {
        // Kestrel refuses a request target holding %00 itself (a bare 400, before any middleware could write a
        // problem); what matters here is that it never reaches a store lookup or a 5xx.
        await using var server = await SharedServer();
        foreach (var path in new[] { "api/training/%00", "api/training/a%00b" })
        {
            using var response = await server.Http.SendAsync(ServerHarness.Get(path));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Theory]
    [InlineData(40_000, 1, 431, "request headers are")]   // over the API's limit, under Kestrel's
    [InlineData(200_000, 1, 431, "request headers are")]  // over Kestrel's default limit too
    [InlineData(10, 150, 431, "headers; the limit is 100")]
    [InlineData(0, 0, 414, "request target is")]
    public async Task Oversized_request_heads_are_problems(int headerBytes, int headerCount, int status, string detail)
    {
        await using var server = await SharedServer();
        using var request = ServerHarness.Get(headerBytes == 0 ? "api/runs?q=" + new string('q', 10_000) : "api/runs");
        for (var i = 0; i < headerCount; i++)
            request.Headers.Add($"x-filler-{i}", new string('h', headerBytes));
        using var response = await server.Http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
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
        public Task<JsonElement> TrainAsync(string body) => server.TrainAsync(body);
        public IServiceProvider Services => server.Server.Services;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
