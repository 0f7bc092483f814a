using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Learning;
using CustomerAnalysis.Serving;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>A small synthetic GA4 export (Parquet, fixed seed) and tiny copies of the real model configs, shared by
/// the tests that run the real learning core.</summary>
public sealed class RealDataFixture
{
    public RealDataFixture()
    {
        Export = TestFolders.Create("ca-real-export-");
        SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = Export, Events = 30_000, Seed = 7 })
            .GetAwaiter().GetResult();
        ModelConfigs = TestFolders.Create("ca-real-configs-");
        // The repository's configs with a 2-point grid and few epochs: real TorchSharp training, in seconds.
        foreach (var (name, grid) in new[] { ("rnn", "hidden_size"), ("transformer", "dropout_rate") })
        {
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AzuriteFixture.RepoRoot, "config", "nn", name + ".json")))!;
            json["model_training_params"]!["num_epochs"] = 3;
            json["grid_search_params"] = new JsonObject
            {
                [grid] = grid == "hidden_size" ? new JsonArray(8, 16) : new JsonArray(0.0, 0.1),
                ["learning_rate"] = new JsonArray(0.01),
            };
            File.WriteAllText(Path.Combine(ModelConfigs, name + ".json"), json.ToJsonString());
        }
    }

    public string Export { get; }
    public string ModelConfigs { get; }
}

[Collection(AzuriteCollection.Name)]
public sealed class RealPipelineTests(AzuriteFixture azurite, RealDataFixture data) : IClassFixture<RealDataFixture>
{
    private async Task<ServerHarness> StartAsync() => await ServerHarness.StartAsync(azurite, services => services.AddInProcessLearning().AddTorchServing(),
        c => c with
        {
            ModelConfigDirectory = data.ModelConfigs,
            Models = new() { Events = new() { Name = "next-event", Model = "rnn" }, Churn = new() { Name = "churn", Model = "transformer" } },
            Retraining = c.Retraining with { Source = data.Export, Tasks = ["events"] },
            Api = c.Api with { MaxBodyBytes = 1 << 20 },
        });

    [Fact]
    public async Task An_events_run_through_the_api_stores_trials_checkpoints_and_plots_promotes_and_serves()
    {
        await using var server = await StartAsync();
        var status = await server.TrainAsync($$"""{"source": {{JsonSerializer.Serialize(data.Export)}}, "task": "events"}""");

        Assert.Equal("Completed", status.GetProperty("runtime_status").GetString());
        var result = status.GetProperty("result");
        await InProductionAsync(server, result);
        var runId = result.GetProperty("run_id").GetString()!;
        var test = result.GetProperty("test");
        // Real metrics beside real baselines, on the same test split.
        Assert.InRange(test.GetProperty("accuracy").GetDouble(), 0.05, 1);
        Assert.True(result.GetProperty("baselines").TryGetProperty("markov_order1", out _), result.ToString());

        var runs = server.Server.Services.GetRequiredService<RunStore>();
        var trials = await runs.ListTrialsAsync(runId);
        Assert.Equal(["t000", "t001"], trials.Select(t => t.TrialId));
        Assert.Equal([8, 16], trials.Select(t => t.Params["hidden_size"].GetInt32()));
        Assert.All(trials, t =>
        {
            Assert.Equal(TrialStatus.Succeeded, t.Status);
            Assert.InRange(t.Epochs.Count, 1, 3);
            Assert.Contains("accuracy", t.ValidationMetrics.Keys);
        });

        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        foreach (var trial in trials)
            Assert.Equal(
                [ArtifactNames.Checkpoint(runId, trial.TrialId), ArtifactNames.Plot(runId, trial.TrialId, "training_curves.png")],
                await artifacts.ListAsync(ArtifactNames.TrialFolder(runId, trial.TrialId)));
        var evaluation = await artifacts.ListAsync(ArtifactNames.EvaluationFolder(runId));
        foreach (var name in new[] { "metrics.json", "plots/confusion_matrix.png", "plots/attention_heatmap.png", "attention/test_attention.json" })
            Assert.Contains(ArtifactNames.EvaluationFolder(runId) + name, evaluation);

        var version = result.GetProperty("model_version").GetInt32();
        var production = await server.Server.Services.GetRequiredService<ModelRegistry>().GetProductionAsync("next-event");
        Assert.Equal(version, production!.Version);

        using var predict = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"events": ["session_start", "page_view", "no_such_event"], "top": 3}""", withKey: false));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var body = await predict.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(version, body.GetProperty("model").GetProperty("version").GetInt32());
        var prediction = body.GetProperty("predictions")[0];
        var top = prediction.GetProperty("top").EnumerateArray().Select(p => p.GetProperty("probability").GetDouble()).ToList();
        Assert.Equal(3, top.Count);
        Assert.Equal(top.OrderByDescending(p => p), top);
        Assert.InRange(top.Sum(), 0.01, 1.0001);
        var attention = prediction.GetProperty("attention").EnumerateArray().ToList();
        Assert.Equal(["session_start", "page_view", "no_such_event"], attention.Select(a => a.GetProperty("event").GetString()));
        Assert.Equal(1, attention.Sum(a => a.GetProperty("weight").GetDouble()), 3);
    }

    [Fact]
    public async Task A_worse_second_run_is_scored_on_the_same_split_and_does_not_replace_production()
    {
        await using var server = await StartAsync();
        var source = JsonSerializer.Serialize(data.Export);
        var first = (await server.TrainAsync($$"""{"source": {{source}}, "task": "events"}""")).GetProperty("result");
        await InProductionAsync(server, first);

        // Barely trained: one epoch at a learning rate too small to move the weights.
        var second = (await server.TrainAsync($$"""
            {"source": {{source}}, "task": "events",
             "overrides": {"grid": {"learning_rate": [0.000001]}, "config": {"model_training_params.num_epochs": 1} } }
            """)).GetProperty("result");

        Assert.False(second.GetProperty("promoted").GetBoolean(), second.ToString());
        Assert.Equal(first.GetProperty("model_version").GetInt32(), second.GetProperty("champion").GetProperty("version").GetInt32());
        Assert.True(second.GetProperty("test").GetProperty("accuracy").GetDouble()
                    < second.GetProperty("champion").GetProperty("test_metrics").GetProperty("accuracy").GetDouble());
        var registry = server.Server.Services.GetRequiredService<ModelRegistry>();
        Assert.Equal(first.GetProperty("model_version").GetInt32(), (await registry.GetProductionAsync("next-event"))!.Version);
    }

    [Fact]
    public async Task A_time_gap_churn_model_refuses_names_only_naming_the_need_and_answers_with_timestamps()
    {
        await using var server = await StartAsync();
        var status = await server.TrainAsync($$"""
            {"source": {{JsonSerializer.Serialize(data.Export)}}, "task": "churn",
             "overrides": {"config": {"model_init_params.use_time_gaps": true, "pipeline_params.grid_search_metric": "roc_auc"} } }
            """);
        Assert.Equal("Completed", status.GetProperty("runtime_status").GetString());
        await InProductionAsync(server, status.GetProperty("result"));

        using var namesOnly = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/churn",
            """{"events": ["session_start", "page_view", "view_item"]}""", withKey: false));
        Assert.Equal(HttpStatusCode.BadRequest, namesOnly.StatusCode);
        Assert.Equal("application/problem+json", namesOnly.Content.Headers.ContentType?.MediaType);
        var detail = (await namesOnly.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        Assert.Contains("trained with time gaps, so every event needs a timestamp", detail);
        Assert.Contains("""{"events": [{"name": "session_start", "timestamp": """, detail);

        using var timed = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/churn",
            """
            {"events": [{"name": "session_start", "timestamp": "2021-01-21T10:00:00Z"},
                        {"name": "page_view", "timestamp": "2021-01-21T10:00:02Z"},
                        {"name": "view_item", "timestamp": "2021-01-21T10:00:40Z"}]}
            """, withKey: false));
        Assert.Equal(HttpStatusCode.OK, timed.StatusCode);
        var probability = (await timed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions")[0]
            .GetProperty("probability").GetDouble();
        Assert.InRange(probability, 0, 1);
    }

    [Fact]
    public async Task A_churn_run_serves_probabilities_at_the_model_configs_threshold()
    {
        await using var server = await StartAsync();
        var status = await server.TrainAsync($$"""
            {"source": {{JsonSerializer.Serialize(data.Export)}}, "task": "churn",
             "overrides": {"config": {"pipeline_params": {"prob_threshold": 0.3, "grid_search_metric": "roc_auc"} } } }
            """);
        Assert.Equal("Completed", status.GetProperty("runtime_status").GetString());
        var result = status.GetProperty("result");
        await InProductionAsync(server, result);
        Assert.True(result.GetProperty("test").TryGetProperty("roc_auc", out _), result.ToString());
        var evaluation = await server.Server.Services.GetRequiredService<ArtifactStore>()
            .ListAsync(ArtifactNames.EvaluationFolder(result.GetProperty("run_id").GetString()!));
        Assert.Contains(evaluation, name => name.EndsWith("plots/roc_curve.png", StringComparison.Ordinal));

        using var predict = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/churn",
            """{"users": [["session_start", "page_view"], ["session_start", "page_view", "view_item", "add_to_cart", "purchase"]]}""",
            withKey: false));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var body = await predict.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("churn", body.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal(0.3, body.GetProperty("threshold").GetDouble());
        Assert.All(body.GetProperty("predictions").EnumerateArray(), p =>
        {
            var probability = p.GetProperty("probability").GetDouble();
            Assert.InRange(probability, 0, 1);
            Assert.Equal(probability >= 0.3, p.GetProperty("churned").GetBoolean());
        });
        // The transformer's attention over each user's events, one weight per event, in order.
        var attention = body.GetProperty("predictions")[1].GetProperty("attention").EnumerateArray().ToList();
        Assert.Equal(["session_start", "page_view", "view_item", "add_to_cart", "purchase"],
            attention.Select(a => a.GetProperty("event").GetString()));
        Assert.All(attention, a => Assert.InRange(a.GetProperty("weight").GetDouble(), 0, 1));
        Assert.True(attention.Sum(a => a.GetProperty("weight").GetDouble()) > 0.5, body.ToString());
    }

    /// <summary>Puts the run's model in production: promoted by its run, or, when held back by a baseline (the short
    /// training of these tests often ends below Markov order 2 or the logistic regression), promoted by hand with
    /// force, as a user trying it would.</summary>
    private static async Task InProductionAsync(ServerHarness server, JsonElement result)
    {
        if (result.GetProperty("promoted").GetBoolean()) return;
        Assert.Contains("baseline", result.GetProperty("promotion_reason").GetString());
        using var forced = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post,
            $"api/models/{result.GetProperty("model_name").GetString()}/versions/{result.GetProperty("model_version").GetInt32()}/stage",
            """{"stage": "Production", "force": true}"""));
        Assert.Equal(HttpStatusCode.OK, forced.StatusCode);
    }

    [Fact]
    public async Task The_retraining_timer_skips_while_a_real_run_is_active()
    {
        await using var server = await StartAsync();
        var job = server.Server.Services.GetRequiredService<RetrainingJob>();
        var client = server.Server.Services.GetRequiredService<DurableTaskClient>();

        var first = Assert.Single(await job.RunAsync(client, CancellationToken.None));
        Assert.Empty(await job.RunAsync(client, CancellationToken.None)); // still preparing or training

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var done = await client.WaitForInstanceCompletionAsync(first, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Single(await job.RunAsync(client, CancellationToken.None)); // idle again: starts
    }
}
