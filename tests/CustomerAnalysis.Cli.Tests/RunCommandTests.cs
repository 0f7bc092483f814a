using System.Text.Json.Nodes;
using CustomerAnalysis.Pipeline.Tests;

namespace CustomerAnalysis.Cli.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class RunCommandTests(AzuriteFixture azurite)
{
    [Fact]
    public void Run_json_generates_the_default_data_trains_both_models_promotes_and_predicts_through_the_api()
    {
        // A private copy of the repository's config folder, with its own storage names and task hub, so the default
        // data and the registry are this test's.
        var root = Directory.CreateTempSubdirectory("ca-run-test-").FullName;
        try
        {
            var config = Directory.CreateDirectory(Path.Combine(root, "config", "nn")).Parent!.FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(AzuriteFixture.RepoRoot, "config", "nn")))
                File.Copy(file, Path.Combine(config, "nn", Path.GetFileName(file)));
            var pipeline = JsonNode.Parse(File.ReadAllText(Path.Combine(AzuriteFixture.RepoRoot, "config", "pipeline.json")))!;
            pipeline["storage"]!["connection_string"] = azurite.ConnectionString;
            pipeline["storage"]!["name_prefix"] = AzuriteFixture.UniqueName("r");
            pipeline["task_hub"] = AzuriteFixture.UniqueName("hub");
            File.WriteAllText(Path.Combine(config, "pipeline.json"), pipeline.ToJsonString());

            var result = CliRunner.Run("run", "--json", "--config", Path.Combine(config, "pipeline.json"));

            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("events done: trials 2/2", result.Stderr); // progress for both runs went to stderr
            Assert.Contains("churn done: trials 4/4", result.Stderr);
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(root, ".data", "default"), "*.parquet"));
            var output = JsonNode.Parse(result.Stdout)!;
            Assert.False(string.IsNullOrEmpty((string?)output["run_id"]));
            Assert.Equal("next-event", (string?)output["model"]!["name"]);
            Assert.Equal("Production", (string?)output["model"]!["stage"]);
            Assert.True((double)output["test"]!["accuracy"]! > (double)output["baselines"]!["majority_class"]!["accuracy"]!);
            Assert.Equal((int)output["model"]!["version"]!, (int)output["prediction"]!["model"]!["version"]!);
            Assert.Equal(3, output["prediction"]!["predictions"]![0]!["top"]!.AsArray().Count);

            // The churn model: its own run, registered and promoted under the churn name, scored beside its baselines
            // on the churn metrics, served by /api/predict/churn.
            var churn = output["churn"]!;
            Assert.NotEqual((string?)output["run_id"], (string?)churn["run_id"]);
            Assert.Equal("churn", (string?)churn["model"]!["name"]);
            Assert.Equal("Production", (string?)churn["model"]!["stage"]);
            foreach (var metric in new[] { "accuracy", "f1", "roc_auc", "pr_auc", "log_loss", "brier" })
                Assert.True(churn["test"]![metric] != null, $"churn test has no {metric}: {churn["test"]}");
            // The default data gives a churn model that ranks users better than chance and the majority baseline.
            Assert.True((double)churn["test"]!["roc_auc"]! > (double)churn["baselines"]!["majority_class"]!["roc_auc"]!);
            Assert.NotNull(churn["baselines"]!["logistic_regression"]);
            var churnPrediction = churn["prediction"]!;
            Assert.Equal((int)churn["model"]!["version"]!, (int)churnPrediction["model"]!["version"]!);
            var probability = (double)churnPrediction["predictions"]![0]!["probability"]!;
            Assert.InRange(probability, 0, 1);
            Assert.Equal(probability >= (double)churnPrediction["threshold"]!, (bool)churnPrediction["predictions"]![0]!["churned"]!);
            Assert.NotEmpty(churnPrediction["predictions"]![0]!["attention"]!.AsArray()); // the transformer's, per event
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
