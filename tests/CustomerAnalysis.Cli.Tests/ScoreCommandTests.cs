using System.Text.Json;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;
using static CustomerAnalysis.Cli.Tests.BadArgumentTests;

namespace CustomerAnalysis.Cli.Tests;

/// <summary>Untrained (seeded) checkpoints of both tasks over the workspace's vocabulary: scoring needs a real
/// model, not a good one.</summary>
public sealed class ScoringWorkspace : IDisposable
{
    public ScoringWorkspace()
    {
        Workspace = new CliWorkspace();
        var vocabulary = PreparedDatasetFiles.ReadAsync(Workspace.PreparedEvents).GetAwaiter().GetResult().Vocabulary;
        foreach (var task in new[] { PredictionTask.Events, PredictionTask.Churn })
            Write(task, vocabulary, Checkpoint(task));
    }

    public static void Write(PredictionTask task, Vocabulary vocabulary, string path)
    {
        var config = NnConfig.Parse($$"""
            { "model_type": "rnn",
              "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 8, "max_sequence_length": 30 },
              "model_training_params": { "task": "{{PredictionTasks.Name(task)}}", "device": "cpu" } }
            """);
        using var model = ModelFactory.Create(config, task, vocabulary.Count, seed: 1, torch.CPU);
        using var file = File.Create(path);
        new ModelCheckpoint(config, vocabulary, model).Write(file);
    }

    public CliWorkspace Workspace { get; }

    public string Checkpoint(PredictionTask task) => Path.Combine(Workspace.Folder, $"{PredictionTasks.Name(task)}-model.ckpt");

    public void Dispose() => Workspace.Dispose();
}

public class ScoreCommandTests(ScoringWorkspace scoring) : IClassFixture<ScoringWorkspace>
{
    private CliWorkspace Workspace => scoring.Workspace;

    private static JsonElement Manifest(string folder) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "manifest.json"))).RootElement;

    [Fact]
    public void Score_events_writes_one_row_per_user_and_the_same_files_again_on_a_rerun()
    {
        var output = Workspace.NewFolder("scores");

        var result = CliRunner.Run("score", "--input", Workspace.Export, "--model", scoring.Checkpoint(PredictionTask.Events),
            "--out", output, "--top", "2", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var printed = JsonDocument.Parse(result.Stdout).RootElement;
        var manifest = Manifest(output);
        Assert.Equal(manifest.GetProperty("scoring_run").GetString(), printed.GetProperty("scoring_run").GetString());
        Assert.Equal("events", manifest.GetProperty("task").GetString());
        Assert.Equal("events-model", manifest.GetProperty("model").GetProperty("name").GetString());
        var users = manifest.GetProperty("counts").GetProperty("users").GetInt64();
        Assert.True(users > 50);
        Assert.Equal(users, manifest.GetProperty("rows").GetInt64()); // every user's latest session
        var csv = File.ReadAllLines(Path.Combine(output, "part-00000.csv"));
        Assert.Equal(users + 1, csv.Length);
        Assert.StartsWith("user_pseudo_id,model_name,model_version,task,", csv[0]);
        Assert.Matches("^[^,]+,events-model,0,events,,,[^,]+,0\\.\\d+,\"\\[", csv[1]);
        var before = Directory.GetFiles(output).Order().Select(File.ReadAllBytes).ToList();

        var again = CliRunner.Run("score", "--input", Workspace.Export, "--model", scoring.Checkpoint(PredictionTask.Events),
            "--out", output, "--top", "2");

        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains($"Scored {users:N0} of {users:N0} users", again.Stdout);
        Assert.Equal(before, Directory.GetFiles(output).Order().Select(File.ReadAllBytes).ToList());
    }

    [Fact]
    public void Score_churn_by_shards_scores_only_users_whose_window_is_complete_and_who_did_not_bounce()
    {
        var output = Workspace.NewFolder("churn-scores");

        var result = CliRunner.Run("score", "--input", Workspace.Export, "--model", scoring.Checkpoint(PredictionTask.Churn),
            "--out", output, "--task", "churn", "--shards", "3", "--run-id", "nightly-1");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var manifest = Manifest(output);
        Assert.Equal("nightly-1", manifest.GetProperty("scoring_run").GetString());
        Assert.Equal(3, manifest.GetProperty("parts").GetArrayLength());
        var counts = manifest.GetProperty("counts");
        long Count(string name) => counts.GetProperty(name).GetInt64();
        Assert.True(Count("scored") > 0 && Count("bounced") > 0 && Count("window_incomplete") > 0);
        Assert.Equal(Count("users"), Count("scored") + Count("bounced") + Count("window_incomplete") + Count("no_engagement"));
        Assert.Equal(Count("scored"), manifest.GetProperty("rows").GetInt64());
        Assert.Contains("Not scored:", result.Stdout);
        var rows = Enumerable.Range(0, 3).Sum(k => File.ReadAllLines(Path.Combine(output, $"part-{k:D5}.csv")).Length - 1);
        Assert.Equal(Count("scored"), rows);
    }

    [Fact]
    public async Task A_prepared_churn_dataset_scores_the_same_users_as_its_export()
    {
        var prepared = Workspace.NewFolder("prepared-churn");
        // Half a day of the 3 held out: the val_recent split's users are scorable users too.
        var holdout = Workspace.NewFolder("holdout") + ".json";
        File.WriteAllText(holdout, """{"holdout_days": 0.5}""");
        Assert.Equal(0, CliRunner.Run("prepare", "--input", Workspace.Export, "--task", "churn", "--out", prepared, "--config", holdout).ExitCode);
        Assert.NotEmpty((await PreparedDatasetFiles.ReadAsync(prepared)).ValidationRecent);
        // A model over the churn dataset's own vocabulary: names the dataset read as <UNK> are unknown to it too.
        var checkpoint = Path.Combine(Workspace.NewFolder("model"), "churn.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
        ScoringWorkspace.Write(PredictionTask.Churn, (await PreparedDatasetFiles.ReadAsync(prepared)).Vocabulary, checkpoint);
        var fromDataset = Workspace.NewFolder("dataset-scores");
        var fromExport = Workspace.NewFolder("export-scores");

        var byDataset = CliRunner.Run("score", "--input", prepared, "--model", checkpoint, "--out", fromDataset);
        var byExport = CliRunner.Run("score", "--input", Workspace.Export, "--model", checkpoint, "--out", fromExport);

        Assert.True(byDataset.ExitCode == 0, byDataset.Stderr);
        Assert.True(byExport.ExitCode == 0, byExport.Stderr);
        Dictionary<string, (double Probability, string Label)> Rows(string folder) =>
            File.ReadAllLines(Path.Combine(folder, "part-00000.csv")).Skip(1).Select(l => l.Split(','))
                .ToDictionary(f => f[0], f => (double.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture), f[5]));
        var dataset = Rows(fromDataset);
        var export = Rows(fromExport);
        Assert.NotEmpty(dataset);
        Assert.Equal(export.Keys.Order(StringComparer.Ordinal), dataset.Keys.Order(StringComparer.Ordinal));
        foreach (var (user, row) in dataset)
        {
            Assert.Equal(export[user].Label, row.Label);
            Assert.InRange(Math.Abs(export[user].Probability - row.Probability), 0, 1e-5);
        }
        Assert.Equal(JsonValueKind.Null, Manifest(fromDataset).GetProperty("end_of_data").ValueKind);
    }

    /// <summary>The workspace export read with every recommended signal and prepared for churn (default rules).</summary>
    private async Task<PreparedDataset> SignalsChurnDatasetAsync()
    {
        var set = Core.Events.Signals.Recommended;
        var events = await EventSources.Open(Workspace.Export, new EventSourceOptions { Signals = set }).ReadTableAsync();
        return DatasetPreparer.Prepare(events, PredictionTask.Churn, PrepareOptions.Default with { Signals = set }, DatasetPreparer.DefaultProtocol);
    }

    [Fact]
    public async Task A_signals_model_scores_the_export_read_with_its_signals_and_refuses_a_prepared_dataset()
    {
        // A churn model with every recommended signal, its encoding fitted on the export read with them.
        var dataset = await SignalsChurnDatasetAsync();
        var config = NnConfig.Parse("""
            { "model_type": "rnn",
              "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 8, "max_sequence_length": 30, "use_signals": true },
              "model_training_params": { "task": "churn", "device": "cpu" } }
            """);
        var checkpoint = Path.Combine(Workspace.NewFolder("signals-model"), "churn.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
        using (var model = ModelFactory.Create(config, PredictionTask.Churn, dataset.Vocabulary.Count, seed: 1, torch.CPU, dataset.Signals))
        using (var file = File.Create(checkpoint))
            new ModelCheckpoint(config, dataset.Vocabulary, model).Write(file);
        var output = Workspace.NewFolder("signal-scores");
        var prepared = Workspace.NewFolder("prepared-churn-signals");
        await PreparedDatasetFiles.WriteAsync(dataset, prepared);

        var scored = CliRunner.Run("score", "--input", Workspace.Export, "--model", checkpoint, "--out", output, "--json");

        Assert.True(scored.ExitCode == 0, scored.Stderr);
        var users = File.ReadAllLines(Path.Combine(output, "part-00000.csv")).Skip(1).Select(l => l.Split(',')[0]).ToHashSet();
        Assert.Equal(dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).Select(e => e.User).ToHashSet(), users);

        // A prepared dataset holds its signals encoded, not raw: the export is scored instead.
        var refused = CliRunner.Run("score", "--input", prepared, "--model", checkpoint, "--out", Workspace.NewFolder("refused"));
        Assert.Equal(2, refused.ExitCode);
        var error = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", error);
        Assert.Contains("score the export itself (--input <source>)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signals_model_blended_with_trees_is_scored_as_it_was_evaluated()
    {
        // Trained for real (one epoch) with every recommended signal and blended with trees that read them too.
        var dataset = await SignalsChurnDatasetAsync();
        var config = NnConfig.Parse("""
            { "model_type": "rnn",
              "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 8, "max_sequence_length": 30,
                                     "use_time_gaps": true, "use_signals": true },
              "model_training_params": { "task": "churn", "device": "cpu", "num_epochs": 1 },
              "pipeline_params": { "combine_with_trees": "blend" } }
            """);
        var result = Modeling.Training.Trainer.Train(dataset, config, Modeling.Experiments.PredictionScoring.ValidationMetricFor(config),
            new Modeling.Training.TrainingRun(1, 3));
        using var model = result.Model;
        var served = ModelCheckpoint.ForServing(result, dataset);
        Assert.True(served.TreesBlend is { ModelWeight: < 1 }, $"the blend kept the sequence model alone ({served.TreesBlend?.ModelWeight})");
        var checkpoint = Path.Combine(Workspace.NewFolder("blended-model"), "churn.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
        await using (var file = File.Create(checkpoint)) served.Write(file);
        var labelled = dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).Concat(dataset.ValidationRecent).ToArray();
        // What evaluation computes for each labelled user's prepared example (the trees reading its signals).
        var evaluated = served.Served(Modeling.Training.Trainer.Predict(model, labelled, 30, 64), labelled);

        var output = Workspace.NewFolder("blended-scores");
        var scored = CliRunner.Run("score", "--input", Workspace.Export, "--model", checkpoint, "--out", output);

        Assert.True(scored.ExitCode == 0, scored.Stderr);
        var lines = File.ReadAllLines(Path.Combine(output, "part-00000.csv"));
        var probability = Array.IndexOf(lines[0].Split(','), "churn_probability");
        var byUser = lines.Skip(1).Select(l => l.Split(',')).ToDictionary(c => c[0],
            c => double.Parse(c[probability], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(labelled.Length, byUser.Count);
        for (var i = 0; i < labelled.Length; i++)
            Assert.Equal(evaluated.Probabilities[i], byUser[labelled[i].User], 1e-5);
    }

    public static TheoryData<string, string> BadCases => new()
    {
        { "score --input {prepared} --model {events} --out {new}", "latest session" },
        { "score --input {export} --model {events} --out {new} --task churn", "does not match the model" },
        { "score --input {export} --model {events} --out {new} --top 0", "--top" },
        { "score --input {export} --model {events} --out {new} --shards 0", "--shards" },
        { "score --input {export} --model {events} --out {new} --run-id ../x", "--run-id" },
        { "score --input {export} --model {events} --out {new} --version 2", "--version" },
        { "score --input {export} --model {folder} --out {new}", "is a folder" },
        { "score --input {export} --model {missing} --out {new}", "neither a checkpoint file nor a registry model name" },
        { "score --input {export} --model {notmodel} --out {new}", "not-a-model.ckpt" },
        { "score --input {missing} --model {events} --out {new}", "missing" },
        { "score --input {export} --model {events}", "--out" },
        { "score --input {export} --model {events} --out {new} --task clicks", "--task" },
    };

    [Theory]
    [MemberData(nameof(BadCases))]
    public void A_bad_score_argument_exits_2_with_one_error_line(string commandLine, string named)
    {
        var notModel = Path.Combine(Workspace.Folder, "not-a-model.ckpt");
        File.WriteAllText(notModel, "not a checkpoint");
        var args = commandLine.Split(' ').Select(a => a
            .Replace("{export}", Workspace.Export)
            .Replace("{prepared}", Workspace.PreparedEvents)
            .Replace("{events}", scoring.Checkpoint(PredictionTask.Events))
            .Replace("{notmodel}", notModel)
            .Replace("{folder}", Workspace.Folder)
            .Replace("{missing}", Path.Combine(Workspace.Folder, "missing", "x.ckpt"))
            .Replace("{new}", Workspace.NewFolder("out"))).ToArray();

        var result = CliRunner.Run(args);

        AssertOneErrorLine(result, exitCode: 2);
        Assert.Contains(named, LastLine(result));
    }
}
