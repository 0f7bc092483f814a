using System.Collections;
using System.Text.Json;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Functions.Tests;

/// <summary>The Functions app's settings: the packaged config under the app settings Azure sets (infra/), no known
/// admin key, the retraining cron and source from RetrainingCron/RetrainingSource.</summary>
public sealed class FunctionsConfigurationTests
{
    private static readonly string Output = Path.GetDirectoryName(typeof(FunctionsStartup).Assembly.Location)!;

    /// <summary>The app settings infra/modules/functions.bicep gives the app (values as Azure resolves them).</summary>
    private static Hashtable AzureAppSettings(string retrainingSource = "blob://exports/ga4/") => new()
    {
        ["AzureWebJobsStorage__accountName"] = "castorage",
        ["AzureWebJobsStorage__credential"] = "managedidentity",
        ["AzureWebJobsStorage__clientId"] = "00000000-0000-0000-0000-000000000002",
        ["AZURE_CLIENT_ID"] = "00000000-0000-0000-0000-000000000002",
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=00000000-0000-0000-0000-000000000000",
        ["RetrainingCron"] = "0 15 4 * * *",
        ["RetrainingSource"] = retrainingSource,
        ["CA__storage__name_prefix"] = "ca",
        ["TrialDoneQueue"] = "ca-trial-done",
        ["CA__api__admin_key"] = "resolved-from-key-vault",
    };

    [Fact]
    public void In_azure_the_app_settings_are_the_source_of_storage_cron_source_and_key()
    {
        var config = FunctionsStartup.LoadConfig(AzureAppSettings());

        Assert.Equal("0 15 4 * * *", config.Retraining.Cron); // what the timer's %RetrainingCron% fires on too
        Assert.Equal("blob://exports/ga4/", config.Retraining.Source);
        Assert.Equal("resolved-from-key-vault", config.Api.AdminKey);
        var storage = config.Storage.ToOptions();
        Assert.True(storage.UsesIdentity);
        Assert.Equal(new Uri("https://castorage.blob.core.windows.net/"), storage.BlobServiceUri);
    }

    [Fact]
    public void The_packaged_config_holds_no_admin_key()
    {
        var config = FunctionsStartup.LoadConfig(new Hashtable());

        Assert.True(string.IsNullOrEmpty(config.Api.AdminKey));
        Assert.DoesNotContain("admin_key", File.ReadAllText(Path.Combine(Output, "config", "pipeline.json")));
        // A local-only file is never packaged.
        Assert.False(File.Exists(Path.Combine(Output, "config", "pipeline.local.json")));
    }

    [Fact]
    public void A_typo_in_an_app_setting_is_an_error_naming_it()
    {
        var settings = AzureAppSettings();
        settings["CA__api__adminkey"] = "x";

        var error = Assert.Throws<Core.InvalidInputException>(() => FunctionsStartup.LoadConfig(settings));

        Assert.Contains("unknown key 'api:adminkey'", error.Message);
    }

    [Fact]
    public void Func_start_uses_the_cron_of_config_pipeline_json()
    {
        // Locally `ca serve` reads retraining.cron; `func start` reads RetrainingCron from local.settings.json (copied
        // from the sample): the sample must carry the same cron.
        var repository = Path.GetFullPath(Path.Combine(Output, "..", "..", "..", "..", ".."));
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(repository, "local.settings.sample.json")));
        var config = PipelineConfig.Load(Path.Combine(repository, "config", "pipeline.json"));

        Assert.Equal(config.Retraining.Cron, sample.RootElement.GetProperty("Values").GetProperty("RetrainingCron").GetString());
    }

    [Theory]
    [InlineData(null, 503, "No admin key is configured")]
    [InlineData("", 503, "No admin key is configured")]
    public async Task Closed_predictions_without_a_configured_key_refuse_and_never_accept_the_old_dev_key(
        string? adminKey, int status, string detail)
    {
        var config = new PipelineConfig { Api = new() { AdminKey = adminKey, PredictionsOpen = false } };
        await using var provider = Services(config);
        var api = ActivatorUtilities.CreateInstance<ApiFunctions>(provider);

        foreach (var key in new[] { null, "local-dev-key", "" })
        {
            var (actual, problem) = await FunctionsTests.ExecuteAsync(provider, "POST", "/api/predict/churn",
                """{"events": ["page_view"]}""", request =>
                {
                    if (key != null) request.Headers[Pipeline.Api.PipelineApi.ApiKeyHeader] = key;
                    return api.PredictChurn(request);
                });
            Assert.Equal(status, actual);
            Assert.Contains(detail, problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Closed_predictions_with_a_configured_key_need_that_key()
    {
        var config = new PipelineConfig { Api = new() { AdminKey = "the-configured-key", PredictionsOpen = false } };
        await using var provider = Services(config);
        var api = ActivatorUtilities.CreateInstance<ApiFunctions>(provider);

        var (status, problem) = await FunctionsTests.ExecuteAsync(provider, "POST", "/api/predict/churn",
            """{"events": ["page_view"]}""", request =>
            {
                request.Headers[Pipeline.Api.PipelineApi.ApiKeyHeader] = "local-dev-key";
                return api.PredictChurn(request);
            });

        Assert.Equal(401, status);
        Assert.Contains("x-api-key", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("/nonexistent/.data/default")]
    public async Task The_timer_starts_no_run_without_a_usable_source(string source)
    {
        var config = new PipelineConfig { Retraining = new() { Source = source, Tasks = ["events"] } };
        await using var provider = Services(config);
        var job = provider.GetRequiredService<RetrainingJob>();

        // Skipped before the Durable client is used: nothing is scheduled, so no client is needed.
        var started = await job.RunAsync(client: null!, CancellationToken.None);

        Assert.Empty(started);
    }

    private static ServiceProvider Services(PipelineConfig config)
    {
        var services = new ServiceCollection().AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddCustomerAnalysisFunctions(config);
        services.AddProblemDetails();
        return services.BuildServiceProvider();
    }
}
