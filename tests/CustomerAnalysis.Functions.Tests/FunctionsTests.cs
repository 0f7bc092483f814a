using CustomerAnalysis.Pipeline.Scoring;
using System.Reflection;
using System.Text.Json;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.LocalHost;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Tests;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Pipeline.Workers;
using CustomerAnalysis.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class FunctionsTests(AzuriteFixture azurite)
{
    private static IEnumerable<(string Name, MethodInfo Method)> Functions() =>
        typeof(FunctionsStartup).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .Select(m => (m.GetCustomAttribute<FunctionAttribute>()?.Name, m))
            .Where(f => f.Name != null)!;

    [Fact]
    public void Every_activity_and_the_orchestrator_have_a_function_of_the_name_the_orchestrator_calls()
    {
        var expected = new[]
        {
            TrainingOrchestration.Name, PrepareDatasetActivity.Name, DispatchTrialActivity.Name,
            DispatchEvaluationActivity.Name, CheckWorkActivity.Name, RegisterActivity.Name, PromoteActivity.Name,
            UpdateRunActivity.Name, PrepareShardActivity.Name, MergeShardsActivity.Name,
            ScoringOrchestration.Name, ReadScoringShardActivity.Name, ScoreShardActivity.Name,
            WriteScoringManifestActivity.Name, TrainingActiveActivity.Name,
        };
        var functions = Functions().ToDictionary(f => f.Name, f => f.Method);

        Assert.Equal(functions.Count, Functions().Count()); // names are unique
        foreach (var name in expected)
        {
            var method = Assert.Contains(name, (IDictionary<string, MethodInfo>)functions);
            var trigger = name is TrainingOrchestration.Name or ScoringOrchestration.Name ? typeof(OrchestrationTriggerAttribute) : typeof(ActivityTriggerAttribute);
            Assert.Contains(method.GetParameters(), p => p.GetCustomAttribute(trigger) != null);
        }
        // The completion relay listens on the queue the workers report to, named by an app setting.
        var relay = functions["RelayWorkCompletion"].GetParameters()
            .Select(p => p.GetCustomAttribute<QueueTriggerAttribute>()).Single(a => a != null)!;
        Assert.Equal("%TrialDoneQueue%", relay.QueueName);
    }

    [Fact]
    public void The_app_prepares_and_serves_but_leaves_training_to_the_workers_and_ships_host_json_and_the_model_configs()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddCustomerAnalysisFunctions(new PipelineConfig());
        using var provider = services.BuildServiceProvider();

        Assert.IsType<ExportDatasetPreparer>(provider.GetRequiredService<IDatasetPreparer>());
        Assert.IsType<TorchModelLoader>(provider.GetRequiredService<IModelLoader>());
        Assert.Null(provider.GetService<ITrialRunner>());
        Assert.Null(provider.GetService<IEvaluator>());
        // host.json lives at the repository root and is linked into the app's output, with the config it loads.
        var output = Path.GetDirectoryName(typeof(FunctionsStartup).Assembly.Location)!;
        Assert.True(File.Exists(Path.Combine(output, "host.json")));
        var config = PipelineConfig.Load(Path.Combine(output, "config", "pipeline.json"));
        Assert.True(File.Exists(Path.Combine(config.ModelConfigDirectory, config.Models.Events.Model + ".json")));
    }

    [Fact]
    public void Http_functions_keep_the_local_routes_and_admin_routes_need_a_function_key()
    {
        var routes = Functions()
            .Select(f => f.Method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).SingleOrDefault(a => a != null))
            .Where(a => a != null)
            .ToDictionary(a => $"{a!.Methods![0].ToUpperInvariant()} {a.Route}", a => a!.AuthLevel);

        Assert.Equal(AuthorizationLevel.Function, routes["POST training"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET training/{id}"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET runs"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET models"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET runs/{run}/artifacts"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET runs/{run}/artifacts/{*path}"]);
        Assert.Equal(AuthorizationLevel.Function, routes["POST models/{name}/versions/{version}/stage"]);
        Assert.Equal(AuthorizationLevel.Function, routes["POST scoring"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET scoring/{id}"]);
        Assert.Equal(AuthorizationLevel.Function, routes["GET scores/{model}/{user}"]);
        Assert.Equal(AuthorizationLevel.Anonymous, routes["POST predict/next-event"]);
        Assert.Equal(AuthorizationLevel.Anonymous, routes["POST predict/churn"]);
        Assert.Equal(AuthorizationLevel.Anonymous, routes["GET ui"]);
    }

    [Fact]
    public async Task The_ui_function_returns_the_page()
    {
        var method = Assert.Single(Functions(), f => f.Name == "Ui").Method;
        Assert.Equal(typeof(UiFunction), method.DeclaringType);
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = "/api/ui";
        var body = new MemoryStream();
        context.Response.Body = body;

        var result = UiFunction.Run(context.Request);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor()));

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", context.Response.ContentType);
        Assert.Equal(Pipeline.Api.UiPage.Html, System.Text.Encoding.UTF8.GetString(body.ToArray()));
        Assert.Contains("<title>CustomerAnalysis</title>", Pipeline.Api.UiPage.Html);
    }

    [Fact]
    public async Task Starting_the_app_creates_its_tables_and_container_on_a_fresh_account()
    {
        var config = new PipelineConfig
        {
            Storage = new() { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("f") },
        };
        var services = new ServiceCollection().AddLogging();
        services.AddCustomerAnalysisFunctions(config);
        await using var provider = services.BuildServiceProvider();
        var runs = provider.GetRequiredService<RunStore>();
        // Nothing exists yet: reading a table that is not there is a storage error.
        await Assert.ThrowsAsync<Azure.RequestFailedException>(() => runs.ListRunsAsync());

        foreach (var hosted in provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
            await hosted.StartAsync(CancellationToken.None);

        Assert.Empty(await runs.ListRunsAsync());
        Assert.Empty(await provider.GetRequiredService<ModelRegistry>().ListAllAsync());
        Assert.Empty(await provider.GetRequiredService<ArtifactStore>().ListAsync("runs/"));
    }

    [Fact]
    public async Task Http_and_timer_wrappers_train_serve_and_skip_on_the_durable_engine()
    {
        var config = new PipelineConfig
        {
            Storage = new() { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("f") },
            ModelConfigDirectory = LookupModelConfigs.Directory,
            Models = new() { Events = new() { Name = "next-event", Model = LookupModelConfigs.Name } },
            Retraining = new() { Source = "synthetic:300", Tasks = ["events"] },
        };
        var services = new ServiceCollection().AddLogging();
        var runner = new GatedTrialRunner();
        void AddApp(IServiceCollection app) => app.AddCustomerAnalysisFunctions(config)
            .AddSingleton<IDatasetPreparer, SyntheticPreparer>().AddSingleton<IModelLoader, LookupModelLoader>();
        AddApp(services);
        await using var provider = services.BuildServiceProvider();
        // As the Functions host does at start-up: the app's hosted services create the tables and the container.
        foreach (var hosted in provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>())
            await hosted.StartAsync(CancellationToken.None);
        // The Functions host runs the orchestrator and activities on this same engine (DTFx on Azure Storage).
        // A trial worker (as the container runs it) and, standing in for the queue-triggered relay, the listener.
        await using var durable = await EngineHost.StartAsync(
            new LocalDurableEngineOptions { StorageConnectionString = azurite.ConnectionString, TaskHubName = AzuriteFixture.UniqueName("hub") },
            tasks => tasks.AddTrainingTasks(),
            s =>
            {
                AddApp(s);
                s.AddSingleton<ITrialRunner>(runner).AddSingleton<IEvaluator, LookupEvaluator>()
                    .AddTrialWorker(config.Storage.ToOptions(), new TrialWorkerOptions { Lease = TimeSpan.FromSeconds(6) })
                    .AddCompletionListener();
            });
        var api = ActivatorUtilities.CreateInstance<ApiFunctions>(provider);
        var timer = ActivatorUtilities.CreateInstance<RetrainingFunction>(provider);

        var (status, body) = await ExecuteAsync(provider, "POST", "/api/training",
            """{"source": "synthetic:300", "task": "events"}""",
            request => api.StartTraining(request, durable.Client));
        Assert.Equal(202, status);
        var runId = body.GetProperty("run_id").GetString()!;

        await runner.Entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await timer.Run(new TimerInfo(), durable.Client, CancellationToken.None);
        Assert.Single(await provider.GetRequiredService<RunStore>().ListRunsAsync()); // skipped: a run is active

        runner.Release.SetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await durable.Client.WaitForInstanceCompletionAsync(runId, timeout.Token);

        var (getStatus, run) = await ExecuteAsync(provider, "GET", $"/api/training/{runId}", null,
            request => api.GetTraining(request, runId, durable.Client));
        Assert.Equal(200, getStatus);
        Assert.True(run.GetProperty("result").GetProperty("promoted").GetBoolean());

        var (predictStatus, prediction) = await ExecuteAsync(provider, "POST", "/api/predict/next-event",
            """{"events": ["add_to_cart"]}""", request => api.PredictNextEvent(request));
        Assert.Equal(200, predictStatus);
        Assert.Equal("begin_checkout", prediction.GetProperty("predictions")[0].GetProperty("top")[0].GetProperty("event").GetString());

        var (badStatus, problem) = await ExecuteAsync(provider, "POST", "/api/predict/next-event",
            """{"events": []}""", request => api.PredictNextEvent(request));
        Assert.Equal(400, badStatus);
        Assert.Contains("'events' is empty", problem.GetProperty("detail").GetString());

        await timer.Run(new TimerInfo(), durable.Client, CancellationToken.None);
        Assert.Equal(2, (await provider.GetRequiredService<RunStore>().ListRunsAsync()).Count); // idle: started

        // A stage change through the wrapper: the Functions host checked a function key (no admin key is sent), so the
        // stage history records it as by that key, after the run's gate (the system).
        var version = run.GetProperty("result").GetProperty("model_version").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (stageStatus, staged) = await ExecuteAsync(provider, "POST", $"/api/models/next-event/versions/{version}/stage",
            """{"stage": "Staging", "reason": "from the portal"}""", request => api.ChangeStage(request, "next-event", version));
        Assert.Equal(200, stageStatus);
        var history = staged.GetProperty("stage_history").EnumerateArray().ToList();
        Assert.Equal(["system", "functions-key"], history.Select(c => c.GetProperty("by").GetString()));
        Assert.Equal("from the portal", history[1].GetProperty("reason").GetString());
    }

    /// <summary>Calls a wrapper with a request as ASP.NET Core would build it and executes its result.</summary>
    internal static async Task<(int Status, JsonElement Body)> ExecuteAsync(IServiceProvider services, string method,
        string path, string? body, Func<HttpRequest, Task<IActionResult>> function)
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = path;
        if (body != null)
        {
            context.Request.ContentType = "application/json";
            context.Request.Body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body));
        }
        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;

        var result = await function(context.Request);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor()));
        responseBody.Position = 0;
        var json = responseBody.Length == 0 ? default : await JsonSerializer.DeserializeAsync<JsonElement>(responseBody);
        return (context.Response.StatusCode, json);
    }
}
