using System.Collections;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Pipeline.Configuration;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>config/pipeline.json through its layers: file, pipeline.local.json, app settings, CA__ environment, command
/// line; unknown keys and bad values are errors that name the key.</summary>
public sealed class PipelineConfigLoaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ca-config-").FullName;

    private string ConfigFile => Path.Combine(_root, "config", "pipeline.json");

    private static readonly string Committed = File.ReadAllText(Path.Combine(AzuriteFixture.RepoRoot, "config", "pipeline.json"));

    public PipelineConfigLoaderTests() => Directory.CreateDirectory(Path.Combine(_root, "config"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string json, string name = "pipeline.json")
    {
        File.WriteAllText(Path.Combine(_root, "config", name), json);
        return ConfigFile;
    }

    private static string Edit(Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(Committed)!;
        edit(node);
        return node.ToJsonString();
    }

    private PipelineConfig Load(IDictionary? environment = null, params string[] commandLine) =>
        PipelineConfigLoader.Load(ConfigFile, environment ?? new Hashtable(), commandLine);

    [Fact]
    public void The_committed_config_loads_and_ships_no_admin_key()
    {
        Write(Committed);

        var config = Load();

        Assert.Null(config.Api.AdminKey);
        Assert.DoesNotContain("admin_key", Committed);
        Assert.Equal("ca", config.Storage.NamePrefix);
        Assert.Equal(["events", "churn"], config.Retraining.Tasks); // replaced, not appended to the default ["events"]
        Assert.Equal(Path.Combine(_root, ".data", "default"), config.Retraining.Source);
        Assert.Equal(Path.Combine(_root, "config", "nn"), config.ModelConfigDirectory);
        Assert.Equal(_root, config.RootDirectory);
    }

    [Theory]
    [InlineData("signals", "page_titel", "page_titel")]
    [InlineData("signal_dropout", "0.95", "signal_dropout")]
    public void A_bad_signal_setting_of_a_task_fails_the_load_naming_the_task(string key, string value, string expected)
    {
        Write(Committed);

        var error = Assert.Throws<InvalidInputException>(() => Load(null, $"models:events:{key}={value}"));

        Assert.Contains("models:events", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api", "admin_kye", "api:admin_kye")]
    [InlineData("retraining", "crn", "retraining:crn")]
    [InlineData("", "modelconfigs", "modelconfigs")]
    public void A_typo_in_the_file_is_an_error_naming_the_key_and_the_file(string section, string key, string expected)
    {
        Write(Edit(root => (section.Length == 0 ? root : root[section]!)[key] = "x"));

        var error = Assert.Throws<InvalidInputException>(() => Load());

        Assert.Contains($"unknown key '{expected}'", error.Message);
        Assert.Contains(ConfigFile, error.Message);
    }

    [Fact]
    public void A_typo_in_an_environment_variable_is_an_error_naming_it()
    {
        Write(Committed);

        var error = Assert.Throws<InvalidInputException>(() =>
            Load(new Hashtable { ["CA__retraining__corn"] = "0 0 1 * * *" }));

        Assert.Contains("unknown key 'retraining:corn'", error.Message);
        Assert.Contains("environment (CA__", error.Message);
    }

    [Theory]
    [InlineData("api", "predictions_open", "\"maybe\"", "'api:predictions_open' must be true or false (got 'maybe')")]
    [InlineData("api", "max_body_bytes", "\"lots\"", "'api:max_body_bytes' must be a number (got 'lots')")]
    [InlineData("retraining", "tasks", "{\"first\": \"events\"}", "'retraining:tasks' is a list")]
    [InlineData("", "api", "\"open\"", "'api' is a section, not a value")]
    public void A_bad_value_is_an_error_naming_the_key(string section, string key, string value, string expected)
    {
        Write(Edit(root => (section.Length == 0 ? root : root[section]!)[key] = JsonNode.Parse(value)));

        var error = Assert.Throws<InvalidInputException>(() => Load());

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("serving:max_batch_wait_ms=2", "serving.max_batch_wait_ms must be between 0 and 1, not 2")]
    [InlineData("serving:max_batch_wait_ms=-0.1", "serving.max_batch_wait_ms must be between 0 and 1, not -0.1")]
    [InlineData("serving:max_batch_sessions=0", "serving.max_batch_sessions must be between 1 and 4096, not 0")]
    public void Serving_batching_settings_out_of_range_are_errors_naming_the_key(string setting, string expected)
    {
        Write(Committed);

        var serving = Load(null, setting).Serving;

        Assert.Contains(expected, Assert.Throws<InvalidInputException>(() => serving.Validated()).Message);
    }

    [Fact]
    public void Serving_batching_settings_bind_from_the_file_and_the_command_line()
    {
        Write(Committed);

        Assert.Equal((true, 64, TimeSpan.FromMilliseconds(0.5)), Load().Serving.Validated());
        Assert.Equal((false, 8, TimeSpan.FromMilliseconds(1)),
            Load(null, "serving:batching=false", "serving:max_batch_sessions=8", "serving:max_batch_wait_ms=1").Serving.Validated());
    }

    [Fact]
    public void Layers_override_in_order_file_local_file_app_settings_environment_command_line()
    {
        Write(Committed);
        Write("""{ "api": { "admin_key": "from-local-file" }, "retraining": { "cron": "0 0 1 * * *" } }""", "pipeline.local.json");

        var fileOnly = Load();
        Assert.Equal("from-local-file", fileOnly.Api.AdminKey);
        Assert.Equal("0 0 1 * * *", fileOnly.Retraining.Cron);

        var environment = new Hashtable
        {
            // The Functions timer reads %RetrainingCron%: the same setting is the config's cron.
            ["RetrainingCron"] = "0 30 2 * * *",
            ["RetrainingSource"] = "bq://project.dataset.events_*",
            ["CA__api__admin_key"] = "from-key-vault",
            ["CA__retraining__tasks__0"] = "churn",
            ["CA_BIGQUERY_BASE_URL"] = "http://127.0.0.1:1", // another component's variable: not a config key
            ["UNRELATED"] = "x",
        };
        var withSettings = Load(environment);
        Assert.Equal("0 30 2 * * *", withSettings.Retraining.Cron);
        Assert.Equal("bq://project.dataset.events_*", withSettings.Retraining.Source); // a URI is not made a path
        Assert.Equal("from-key-vault", withSettings.Api.AdminKey);
        Assert.Equal(["churn", "churn"], withSettings.Retraining.Tasks); // item 0 replaced, item 1 from the file

        var withCommandLine = Load(environment, "retraining:cron=0 0 5 * * *", "api:predictions_open=false");
        Assert.Equal("0 0 5 * * *", withCommandLine.Retraining.Cron);
        Assert.False(withCommandLine.Api.PredictionsOpen);
    }

    [Fact]
    public void An_empty_retraining_source_stays_empty()
    {
        Write(Committed);

        var config = Load(new Hashtable { ["RetrainingSource"] = "" });

        Assert.Equal("", config.Retraining.Source); // the job then skips; it is not resolved to the root folder
    }

    [Fact]
    public void Storage_is_a_connection_string_or_identity_based_from_the_platform_settings()
    {
        Write(Committed);

        var local = Load(new Hashtable { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }).Storage.ToOptions();
        Assert.False(local.UsesIdentity);
        Assert.Equal("UseDevelopmentStorage=true", local.ConnectionString);

        var azure = Load(new Hashtable
        {
            ["AzureWebJobsStorage__accountName"] = "castore",
            ["AzureWebJobsStorage__credential"] = "managedidentity", // the host's; not a config key, not an error
            ["AzureWebJobsStorage__clientId"] = "00000000-0000-0000-0000-000000000001",
        }).Storage.ToOptions();
        Assert.True(azure.UsesIdentity);
        Assert.Equal(new Uri("https://castore.blob.core.windows.net/"), azure.BlobServiceUri);
        Assert.Equal(new Uri("https://castore.table.core.windows.net/"), azure.TableServiceUri);
        Assert.Equal(new Uri("https://castore.queue.core.windows.net/"), azure.QueueServiceUri);
        Assert.IsType<Azure.Identity.DefaultAzureCredential>(azure.Credential);
        // The clients point at the account's endpoints (no request is made here).
        Assert.Equal("castore", azure.CreateBlobServiceClient().AccountName);
        Assert.Equal("castore", azure.CreateTableServiceClient().AccountName);
    }

    [Fact]
    public void A_missing_file_or_bad_json_is_an_error_naming_the_file()
    {
        var missing = Assert.Throws<InvalidInputException>(() => Load());
        Assert.Contains(ConfigFile, missing.Message);

        Write("{ \"api\": ");
        var bad = Assert.Throws<InvalidInputException>(() => Load());
        Assert.Contains($"Pipeline config {ConfigFile} is invalid", bad.Message);
    }
}
