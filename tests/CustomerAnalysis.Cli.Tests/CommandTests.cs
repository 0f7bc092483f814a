using System.Text.Json.Nodes;

namespace CustomerAnalysis.Cli.Tests;

public class CommandTests(CliWorkspace workspace) : IClassFixture<CliWorkspace>
{
    [Fact]
    public void Synth_with_the_same_seed_writes_the_same_bytes()
    {
        var first = workspace.NewFolder("synth-a");
        var second = workspace.NewFolder("synth-b");
        Assert.Equal(0, CliRunner.Run("synth", "--out", first, "--events", "500", "--days", "2", "--seed", "9").ExitCode);
        Assert.Equal(0, CliRunner.Run("synth", "--out", second, "--events", "500", "--days", "2", "--seed", "9").ExitCode);

        var files = Directory.GetFiles(first).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(2, files.Length);
        Assert.Equal(files, Directory.GetFiles(second).Select(Path.GetFileName).Order());
        foreach (var file in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file!)), File.ReadAllBytes(Path.Combine(second, file!)));
    }

    [Fact]
    public void Prepare_json_prints_one_summary_object_and_writes_the_dataset()
    {
        var output = workspace.NewFolder("prepared");
        var result = CliRunner.Run("prepare", "--input", workspace.Export, "--task", "churn", "--out", output, "--json");

        Assert.Equal(0, result.ExitCode);
        var summary = JsonNode.Parse(result.Stdout)!.AsObject();
        foreach (var key in new[] { "task", "protocol", "rows_read", "users", "sessions", "sequences", "splits", "labels" })
            Assert.True(summary.ContainsKey(key), $"missing {key}");
        Assert.Equal("churn", summary["task"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(output, "manifest.json")));
        Assert.True(File.Exists(Path.Combine(output, "train.jsonl")));
    }

    [Theory]
    [InlineData("--task", "clicks")]
    [InlineData("--protocol", "python")]
    public void Prepare_with_a_bad_argument_exits_2_with_one_error_line(string option, string value)
    {
        string[] args = ["prepare", "--input", workspace.Export, "--task", "events", "--out", workspace.NewFolder("bad")];
        var index = Array.IndexOf(args, option);
        args = index >= 0 ? [.. args[..(index + 1)], value, .. args[(index + 2)..]] : [.. args, option, value];

        var result = CliRunner.Run(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(value, result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void Prepare_with_shards_writes_the_same_dataset_files_as_without()
    {
        var whole = workspace.NewFolder("whole");
        var sharded = workspace.NewFolder("sharded");
        Assert.Equal(0, CliRunner.Run("prepare", "--input", workspace.Export, "--task", "churn", "--out", whole, "--json").ExitCode);
        var result = CliRunner.Run("prepare", "--input", workspace.Export, "--task", "churn", "--out", sharded, "--shards", "3",
            "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("shards done: 3/3", result.Stderr);
        var files = Directory.GetFiles(whole).Select(Path.GetFileName).Order().ToArray();
        Assert.Contains("train.jsonl", files);
        Assert.Equal(files, Directory.GetFiles(sharded).Select(Path.GetFileName).Order());
        foreach (var file in files)
            Assert.True(File.ReadAllBytes(Path.Combine(whole, file!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(sharded, file!))),
                $"{file} differs");
    }

    [Theory]
    [InlineData("--shards", "0", "--shards must be between 1")]
    [InlineData("--dry-run", null, "--dry-run needs a bq:// source")]
    public void Prepare_with_bad_shard_or_dry_run_arguments_exits_2_with_one_error_line(string option, string? value, string error)
    {
        string[] args = ["prepare", "--input", workspace.Export, "--task", "events", "--out", workspace.NewFolder("bad-shards"), option];
        var result = CliRunner.Run(value is null ? args : [.. args, value]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("error:"));
        Assert.Contains(error, line);
    }

    [Fact]
    public void Prepare_of_unreadable_input_exits_2()
    {
        var result = CliRunner.Run("prepare", "--input", Path.Combine(workspace.Folder, "no-such-export"), "--task", "events",
            "--out", workspace.NewFolder("none"));

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error:", result.Stderr.Split('\n').Last(l => l.Length > 0));
    }

    [Fact]
    public void Train_json_prints_best_baselines_and_trials_and_writes_the_artifacts()
    {
        var output = workspace.NewFolder("model");
        var result = CliRunner.Run("train", "--data", workspace.PreparedEvents, "--task", "events", "--config", workspace.TinyConfig,
            "--out", output, "--threads", "1", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var report = JsonNode.Parse(result.Stdout)!.AsObject(); // exactly one JSON object on stdout
        Assert.Equal(["best", "baselines", "trials", "failed_trials"], report.Select(p => p.Key));
        Assert.Empty(report["failed_trials"]!.AsArray());
        Assert.True(report["best"]!.AsObject().ContainsKey("params"));
        Assert.True(report["best"]!["val"]!.AsObject().ContainsKey("top1_accuracy"));
        Assert.True(report["best"]!["test"]!.AsObject().ContainsKey("mrr"));
        Assert.Equal(["majority_class", "markov_order1", "markov_order2", "gradient_boosted_trees"], report["baselines"]!.AsObject().Select(p => p.Key));
        Assert.Equal(2, report["trials"]!.AsArray().Count);
        foreach (var file in new[] { "model.ckpt", "metrics.json", "plots/confusion_matrix.png", "plots/training_curves/trial_001.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"missing {file}");

        var predicted = CliRunner.Run("predict", "--model", Path.Combine(output, "model.ckpt"), "--events", "session_start,page_view,never_seen", "--top", "2", "--json");
        Assert.True(predicted.ExitCode == 0, predicted.Stderr);
        var prediction = JsonNode.Parse(predicted.Stdout)!;
        Assert.Equal("events", prediction["task"]!.GetValue<string>());
        var top = prediction["top_events"]!.AsArray();
        Assert.Equal(2, top.Count);
        Assert.True(top[0]!["probability"]!.GetValue<double>() >= top[1]!["probability"]!.GetValue<double>());
        Assert.Equal(3, prediction["attention"]!.AsArray().Count);
        Assert.Equal(1.0, prediction["attention"]!.AsArray().Sum(a => a!["weight"]!.GetValue<double>()), 4);

        var empty = CliRunner.Run("predict", "--model", Path.Combine(output, "model.ckpt"), "--events", " , ");
        Assert.Equal(2, empty.ExitCode);
        Assert.Contains("--events", empty.Stderr);
    }

    [Fact]
    public void Train_on_a_dataset_prepared_for_another_task_exits_2()
    {
        var result = CliRunner.Run("train", "--data", workspace.PreparedEvents, "--task", "churn", "--config", workspace.TinyConfig,
            "--out", workspace.NewFolder("wrong"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("events task", result.Stderr);
    }

    [Fact]
    public void Predict_with_a_missing_model_exits_2()
    {
        var result = CliRunner.Run("predict", "--model", Path.Combine(workspace.Folder, "missing.ckpt"), "--events", "page_view");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("missing.ckpt", result.Stderr);
    }

    [Fact]
    public void A_failure_that_is_not_bad_input_exits_1_with_one_error_line_and_no_stack_trace()
    {
        // --out names a folder inside an existing file: creating it fails with an IOException at run time (an
        // existing file as --out itself is a bad argument, caught while parsing).
        var occupied = workspace.NewFolder("occupied");
        File.WriteAllText(occupied, "not a folder");

        var result = CliRunner.Run("synth", "--out", Path.Combine(occupied, "export"), "--events", "100", "--days", "1");

        Assert.Equal(1, result.ExitCode);
        var errorLines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:")).ToArray();
        Assert.Single(errorLines);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
    }
}
