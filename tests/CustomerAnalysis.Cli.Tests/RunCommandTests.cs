using System.Text.Json.Nodes;
using CustomerAnalysis.Pipeline.Tests;

namespace CustomerAnalysis.Cli.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class RunCommandTests(AzuriteFixture azurite)
{
    [Fact]
    public void Run_json_generates_the_default_data_trains_promotes_and_predicts_through_the_api()
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
            Assert.Contains("trials 4/4", result.Stderr); // progress went to stderr
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(root, ".data", "default"), "*.parquet"));
            var output = JsonNode.Parse(result.Stdout)!;
            Assert.False(string.IsNullOrEmpty((string?)output["run_id"]));
            Assert.Equal("next-event", (string?)output["model"]!["name"]);
            Assert.Equal("Production", (string?)output["model"]!["stage"]);
            Assert.True((double)output["test"]!["accuracy"]! > (double)output["baselines"]!["majority_class"]!["accuracy"]!);
            Assert.Equal((int)output["model"]!["version"]!, (int)output["prediction"]!["model"]!["version"]!);
            Assert.Equal(3, output["prediction"]!["predictions"]![0]!["top"]!.AsArray().Count);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
