using System.Text.Json;
using System.Text.Json.Nodes;

namespace CustomerAnalysis.Infra.Tests;

/// <summary>Every file in infra/ builds and lints clean with the Bicep CLI, and the compiled deployment keeps the
/// properties that make it start: Flex Consumption, identity-based storage without keys, a GPU profile, a job scaled
/// by the trial queue, secrets only in Key Vault.</summary>
public sealed class BicepTests
{
    private const string Pattern = "infra/**/*.bicep";

    /// <summary>infra/ compiled once (bicep build --pattern), file name (relative, .json) to ARM template.</summary>
    private static readonly Lazy<IReadOnlyDictionary<string, JsonNode>> Compiled = new(() =>
    {
        var output = Directory.CreateTempSubdirectory("bicep-build-").FullName;
        try
        {
            var result = BicepCli.Run(null, "build", "--pattern", Pattern, "--outdir", output);
            Assert.True(result.ExitCode == 0, $"bicep build failed:\n{result.Diagnostics}");
            Assert.True(result.Diagnostics.Length == 0, $"bicep build reported diagnostics:\n{result.Diagnostics}");
            return Directory.GetFiles(output, "*.json", SearchOption.AllDirectories).ToDictionary(
                f => Path.GetRelativePath(output, f).Replace('\\', '/'), f => JsonNode.Parse(File.ReadAllText(f))!);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    });

    private static JsonNode Main => Compiled.Value["main.json"];

    private static IEnumerable<string> BicepFiles() =>
        Directory.GetFiles(Paths.Infra, "*.bicep", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Paths.Infra, f).Replace('\\', '/')).Order();

    /// <summary>The resources a template itself declares (not <c>existing</c> references): an array, or an object by
    /// symbolic name where a module uses typed parameters (languageVersion 2.0).</summary>
    private static IEnumerable<JsonObject> Declared(JsonNode template) =>
        (template["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            JsonObject byName => byName.Select(r => r.Value).OfType<JsonObject>(),
            _ => [],
        })
        .Where(r => r["existing"]?.GetValue<bool>() != true);

    /// <summary>Every resource the template and the modules nested in it deploy.</summary>
    private static IEnumerable<JsonObject> Resources(JsonNode template) =>
        Declared(template).SelectMany(r => r["properties"]?["template"] is { } nested ? Resources(nested).Prepend(r) : [r]);

    private static JsonObject Single(string type) => Assert.Single(Resources(Main), r => (string?)r["type"] == type);

    /// <summary>The compiled module (nested template) that declares the resource of this type.</summary>
    private static JsonNode ModuleOf(string type) =>
        Assert.Single(Resources(Main), r => r["properties"]?["template"] is { } t
            && Declared(t).Any(x => (string?)x["type"] == type))["properties"]!["template"]!;

    [Fact]
    public void Every_file_builds_without_a_diagnostic()
    {
        // One compiled template per .bicep file: none was skipped by the pattern.
        Assert.Equal(BicepFiles().Select(f => Path.ChangeExtension(f, ".json")), Compiled.Value.Keys.Order());
        Assert.True(BicepFiles().Count() >= 8, "infra/ should hold main.bicep and its modules.");
    }

    [Fact]
    public void Every_file_lints_clean()
    {
        var result = BicepCli.Run(null, "lint", "--pattern", Pattern);

        Assert.True(result.ExitCode == 0, $"bicep lint failed:\n{result.Diagnostics}");
        Assert.True(result.Diagnostics.Length == 0, $"bicep lint reported:\n{result.Diagnostics}");
    }

    [Fact]
    public void The_lint_check_sees_a_warning()
    {
        // The clean result above means something: a file with an unused parameter is reported.
        var file = Path.Combine(Path.GetTempPath(), $"unused-{Guid.NewGuid():N}.bicep");
        File.WriteAllText(file, "param unused string\n");
        try
        {
            var result = BicepCli.Run(null, "lint", file);
            Assert.Contains("no-unused-params", result.Diagnostics);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_parameter_example_builds_and_takes_its_secret_from_the_environment()
    {
        var withKey = BicepCli.Run(new Dictionary<string, string?> { ["CA_ADMIN_KEY"] = "from-the-environment" },
            "build-params", "infra/main.bicepparam", "--stdout");
        Assert.True(withKey.ExitCode == 0, withKey.Diagnostics);
        var parameters = JsonNode.Parse(JsonNode.Parse(withKey.Output)!["parametersJson"]!.GetValue<string>())!["parameters"]!;
        Assert.Equal("from-the-environment", (string?)parameters["adminKey"]!["value"]);
        Assert.Equal("ca", (string?)parameters["namePrefix"]!["value"]);

        // The file itself holds no key: without the variable it does not build.
        var withoutKey = BicepCli.Run(new Dictionary<string, string?> { ["CA_ADMIN_KEY"] = null },
            "build-params", "infra/main.bicepparam", "--stdout");
        Assert.NotEqual(0, withoutKey.ExitCode);
        Assert.Contains("CA_ADMIN_KEY", withoutKey.Diagnostics);
    }

    [Fact]
    public void No_storage_keys_anywhere()
    {
        foreach (var (file, template) in Compiled.Value)
        {
            var text = template.ToJsonString();
            Assert.False(text.Contains("listKeys", StringComparison.OrdinalIgnoreCase), $"{file} calls listKeys");
            Assert.False(text.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase), $"{file} builds a key connection string");
        }
        var account = Single("Microsoft.Storage/storageAccounts");
        Assert.False((bool)account["properties"]!["allowSharedKeyAccess"]!);
    }

    [Fact]
    public void Functions_run_on_flex_consumption_with_dotnet_10_isolated_and_identity_based_storage()
    {
        var plan = Single("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);

        var site = Single("Microsoft.Web/sites");
        var config = site["properties"]!["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]!["version"]);
        Assert.Equal("UserAssignedIdentity", (string?)config["deployment"]!["storage"]!["authentication"]!["type"]);
        Assert.NotNull(site["properties"]!["keyVaultReferenceIdentity"]);

        var settings = ModuleOf("Microsoft.Web/sites")["variables"]!["baseSettings"]!.AsArray()
            .ToDictionary(s => (string)s!["name"]!, s => (string?)s!["value"]);
        Assert.Contains("AzureWebJobsStorage__accountName", settings.Keys);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Contains("AzureWebJobsStorage__clientId", settings.Keys);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys); // no connection string
        // Flex refuses these as app settings (it takes the runtime from functionAppConfig).
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", settings.Keys);
        // The names the app reads (PipelineConfigLoader) and the timer's %RetrainingCron%.
        Assert.Contains("RetrainingCron", settings.Keys);
        Assert.Contains("RetrainingSource", settings.Keys);
        Assert.Contains("CA__api__admin_key", settings.Keys);
        // The completion relay's %TrialDoneQueue%, from the storage module's {prefix}-trial-done queue.
        Assert.Equal("[parameters('trialDoneQueueName')]", settings["TrialDoneQueue"]);
        var functionsModule = Assert.Single(Resources(Main), r => (string?)r["name"] == "functions");
        Assert.Contains("outputs.doneQueueName.value", (string?)functionsModule["properties"]!["parameters"]!["trialDoneQueueName"]!["value"]);
    }

    [Fact]
    public void Secrets_are_key_vault_references_and_never_outputs()
    {
        var vault = ModuleOf("Microsoft.KeyVault/vaults");
        Assert.Contains("@Microsoft.KeyVault(VaultName=", vault["outputs"]!["adminKeyReference"]!["value"]!.GetValue<string>());
        Assert.Contains("@Microsoft.KeyVault(VaultName=", vault["outputs"]!["bigQueryReference"]!["value"]!.GetValue<string>());
        Assert.Equal("securestring", (string?)vault["parameters"]!["adminKey"]!["type"]);
        Assert.Equal("securestring", (string?)vault["parameters"]!["bigQueryServiceAccountJson"]!["type"]);
        Assert.True((bool)Single("Microsoft.KeyVault/vaults")["properties"]!["enableRbacAuthorization"]!);
        Assert.Equal("securestring", (string?)Main["parameters"]!["adminKey"]!["type"]);
        Assert.Null(Main["parameters"]!["adminKey"]!["defaultValue"]);
    }

    [Fact]
    public void Identities_get_blob_queue_and_table_data_roles_and_the_worker_may_pull_images()
    {
        var grants = Resources(Main).Where(r => (string?)r["type"] == "Microsoft.Resources/deployments"
                                                && r["properties"]?["parameters"]?["roleDefinitionIds"] != null)
            .ToDictionary(r => (string)r["name"]!, r => r["properties"]!["parameters"]!["roleDefinitionIds"]!["value"]!.AsArray()
                .Select(v => (string)v!).ToList());
        // Role ids resolve through main's variables.
        var variables = Main["variables"]!.AsObject().ToDictionary(v => $"[variables('{v.Key}')]", v => (string?)v.Value);
        List<string?> Roles(string module) => grants[module].Select(v => variables.GetValueOrDefault(v, v)).ToList();
        const string blobOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", blobContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
        const string queue = "974c5e8b-45b9-4653-ba55-5f855dd0fb88", table = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
        Assert.Equal([blobOwner, queue, table], Roles("functions-storage-access"));
        Assert.Equal([blobContributor, queue, table], Roles("worker-storage-access"));

        var registry = ModuleOf("Microsoft.ContainerRegistry/registries");
        Assert.Contains("7f951dda-4ed3-4680-a7ca-43fe172d538d", registry.ToJsonString()); // AcrPull
        Assert.False((bool)Single("Microsoft.ContainerRegistry/registries")["properties"]!["adminUserEnabled"]!);
    }

    [Fact]
    public void The_trial_worker_is_a_gpu_job_scaled_by_the_trial_queue()
    {
        var workers = ModuleOf("Microsoft.App/jobs");
        var gpuTypes = workers["parameters"]!["gpuProfileType"]!["allowedValues"]!.AsArray().Select(v => (string)v!).ToList();
        Assert.NotEmpty(gpuTypes);
        Assert.All(gpuTypes, t => Assert.StartsWith("Consumption-GPU-NC-", t));

        var environment = Single("Microsoft.App/managedEnvironments");
        var profiles = environment["properties"]!["workloadProfiles"]!.AsArray();
        var gpu = Assert.Single(profiles, p => (string?)p!["workloadProfileType"] == "[parameters('gpuProfileType')]")!;
        // Logs through diagnostic settings: the log-analytics destination would need the workspace's shared key.
        Assert.Equal("azure-monitor", (string?)environment["properties"]!["appLogsConfiguration"]!["destination"]);

        var job = Single("Microsoft.App/jobs");
        // The job runs on that GPU profile (both name it through the same variable).
        Assert.Equal("[variables('gpuProfileName')]", (string?)gpu["name"]);
        Assert.Equal("[variables('gpuProfileName')]", (string?)job["properties"]!["workloadProfileName"]);
        var configuration = job["properties"]!["configuration"]!;
        Assert.Equal("Event", (string?)configuration["triggerType"]);
        var rule = Assert.Single(configuration["eventTriggerConfig"]!["scale"]!["rules"]!.AsArray())!;
        Assert.Equal("azure-queue", (string?)rule["type"]);
        Assert.Equal("[parameters('trialQueueName')]", (string?)rule["metadata"]!["queueName"]);
        Assert.Equal("[parameters('identityId')]", (string?)rule["identity"]); // the scaler signs in as the worker
        Assert.Equal("[parameters('identityId')]", (string?)configuration["registries"]![0]!["identity"]);
        // An execution ends when the queue stays empty (the worker's workers.exit_when_idle_seconds).
        var env = job["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray()
            .ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"]);
        Assert.True(int.Parse(env["CA__workers__exit_when_idle_seconds"]!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains("AzureWebJobsStorage__accountName", env.Keys);

        // The queue the job watches is the storage module's {name_prefix}-trials, with main's prefix.
        var workersModule = Assert.Single(Resources(Main), r => (string?)r["name"] == "workers");
        Assert.Contains("outputs.trialQueueName.value", (string?)workersModule["properties"]!["parameters"]!["trialQueueName"]!["value"]);
        var storage = ModuleOf("Microsoft.Storage/storageAccounts");
        var queues = Resources(storage).Where(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts/queueServices/queues")
            .Select(r => (string)r["name"]!).ToList();
        Assert.Contains(queues, q => q.Contains("format('{0}-trials', parameters('namePrefix'))", StringComparison.Ordinal));
        Assert.Contains(queues, q => q.Contains("format('{0}-trial-done', parameters('namePrefix'))", StringComparison.Ordinal));
    }

    [Fact]
    public void The_name_prefix_defaults_to_the_one_in_config_pipeline_json()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.RepositoryRoot, "config", "pipeline.json")));
        var prefix = config.RootElement.GetProperty("storage").GetProperty("name_prefix").GetString();
        Assert.Equal(prefix, (string?)Main["parameters"]!["namePrefix"]!["defaultValue"]);
    }
}
