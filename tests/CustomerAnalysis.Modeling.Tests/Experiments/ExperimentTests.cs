using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Experiments;

public class ExperimentTests
{
    private static ExperimentResult Run(PredictionTask task, string metric)
    {
        var data = SyntheticSequences.Create(task, train: 240, validation: 60, test: 60);
        var config = SyntheticSequences.Config("rnn", task,
            init: "\"hidden_size\": 12, \"embedding_size\": 8, \"dropout_rate\": 0",
            training: "\"num_epochs\": 4, \"learning_rate\": 0.02",
            pipeline: $"\"grid_search_metric\": \"{metric}\", \"early_stopping_patience\": 2");
        var withGrid = JsonNode.Parse(config.ToJson())!.AsObject();
        withGrid["grid_search_params"] = new JsonObject { ["attention_type"] = new JsonArray("global", "last") };
        return Experiment.Run(data, NnConfig.Parse(withGrid.ToJsonString()), new GridSearchRun(MaxParallelTrials: 2, Cores: 2));
    }

    [Fact]
    public void Events_report_holds_best_trial_baselines_on_the_same_split_and_every_trial()
    {
        using var result = Run(PredictionTask.Events, "top1_accuracy");
        var report = result.Report;
        var json = report.ToJson();

        Assert.Equal(2, report.Trials.Count);
        Assert.Equal(report.Trials.Max(t => t.Validation["top1_accuracy"]), report.Best.Validation["top1_accuracy"]);
        Assert.Equal(["majority_class", "markov_order1", "markov_order2", "gradient_boosted_trees"], report.Test.Baselines.Keys);
        Assert.All(report.Test.Baselines.Values, b => Assert.Equal(report.Test.Model.Count, b.Count));
        Assert.Equal(MetricNames.For(PredictionTask.Events), json["best"]!["test"]!.AsObject().Select(p => p.Key));
        Assert.Equal(report.Test.Model.Scalars["top1_accuracy"], json["best"]!["test"]!["top1_accuracy"]!.GetValue<double>());
        Assert.NotNull(json["best"]!["params"]!["attention_type"]);
        Assert.Equal(2, json["trials"]!.AsArray().Count);
        Assert.NotNull(json["baselines"]!["markov_order2"]!["mrr"]);
        // The rule (next = last + 1) is learnable to ~100%.
        Assert.True(report.Test.Model.Scalars["top1_accuracy"] > 0.9, $"top-1 {report.Test.Model.Scalars["top1_accuracy"]}");
    }

    [Fact]
    public void Artifacts_go_to_the_sink_and_the_checkpoint_reproduces_the_test_metrics()
    {
        using var result = Run(PredictionTask.Churn, "roc_auc");
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 240, validation: 60, test: 60);
        var sink = new MemoryArtifactSink();

        var written = ExperimentArtifacts.WriteAll(sink, result.Report, result.Checkpoint, data);

        Assert.Equal(written.Order(StringComparer.Ordinal), sink.Artifacts.Keys.Order(StringComparer.Ordinal));
        foreach (var name in new[] { "model.ckpt", "metrics.json", "plots/roc_curve.png", "plots/confusion_matrix.png",
                     "plots/true_vs_predicted.png", "plots/training_curves/trial_000.png", "plots/training_curves/trial_001.png",
                     "plots/attention_heatmap.png", "attention/test_attention.json", "attention/test_attention_analysis.json" })
            Assert.True(sink.Artifacts.ContainsKey(name), $"missing {name}");
        Assert.Equal("PNG"u8.ToArray(), sink.Artifacts["plots/roc_curve.png"][1..4]);

        var metrics = JsonNode.Parse(sink.Artifacts["metrics.json"])!;
        Assert.Equal(["best", "baselines", "trials", "failed_trials"], metrics.AsObject().Select(p => p.Key));
        Assert.NotNull(metrics["baselines"]!["logistic_regression"]!["roc_auc"]);

        var loaded = ModelCheckpoint.Read(new MemoryStream(sink.Artifacts["model.ckpt"]));
        using var loadedModel = loaded.Model;
        var again = TestEvaluator.Evaluate(data, loaded);
        Assert.Equal(result.Report.Test.Model.Scalars["roc_auc"], again.Model.Scalars["roc_auc"], 12);
        // The trees are fitted again from the checkpoint's config: same inputs, same seed, same figures.
        Assert.Equal(result.Report.Test.Baselines["gradient_boosted_trees"].Scalars["roc_auc"],
            again.Baselines["gradient_boosted_trees"].Scalars["roc_auc"], 12);
        Assert.Equal(result.Report.Test.Model.Scalars["log_loss"], loaded.Metrics["test_log_loss"], 12);

        var export = JsonNode.Parse(sink.Artifacts["attention/test_attention.json"])!;
        var firstBatch = export["heads"]![0]!;
        var inputs = firstBatch["batch_inputs"]![0]!.AsArray();
        var weights = firstBatch["attention_weights"]![0]!.AsArray().Select(w => w!.GetValue<double>()).ToArray();
        Assert.Equal(inputs.Count, weights.Length);
        Assert.Equal(1.0, weights.Sum(), 4);
    }

    [Fact]
    public void A_model_evaluated_on_its_own_writes_its_test_metrics_and_plots_without_a_grid_report()
    {
        using var result = Run(PredictionTask.Churn, "roc_auc");
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 240, validation: 60, test: 60);
        var test = TestEvaluator.Evaluate(data, result.Checkpoint);
        var sink = new MemoryArtifactSink();

        ExperimentArtifacts.WriteMetrics(sink, test, "roc_auc", result.Report.Best.Validation);
        var plots = ExperimentArtifacts.WritePlots(sink, test, data);

        Assert.Equal(["plots/confusion_matrix.png", "plots/true_vs_predicted.png", "plots/roc_curve.png", "plots/reliability.png"], plots);
        var metrics = JsonNode.Parse(sink.Artifacts["metrics.json"])!.AsObject();
        Assert.Equal(["grid_search_metric", "val", "test", "test_details", "baselines"], metrics.Select(p => p.Key));
        Assert.Equal(test.Model.Scalars["roc_auc"], metrics["test"]!["roc_auc"]!.GetValue<double>());
        Assert.Equal(result.Report.Best.Validation["roc_auc"], metrics["val"]!["roc_auc"]!.GetValue<double>());
        Assert.NotNull(metrics["baselines"]!["logistic_regression"]!["roc_auc"]);
    }

    [Fact]
    public void A_summary_of_a_model_trained_outside_a_grid_has_no_grid_values_and_the_same_validation_scores()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 120, validation: 40, test: 40);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events, training: "\"num_epochs\": 1");
        var training = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(Threads: 1, Seed: 5));
        using var model = training.Model;

        var summary = TrialSummary.From(training, seconds: 1.5, data, churnThreshold: 0.5);
        var viaSpec = TrialSummary.From(new TrialSpec(0, new Dictionary<string, JsonNode>(), config, config.Training.Seed),
            training, 1.5, data, 0.5);

        Assert.Equal((0, 0, 1.5), (summary.Index, summary.Params.Count, summary.Seconds));
        Assert.Equal(viaSpec.Validation, summary.Validation);
        Assert.Equal(MetricNames.For(PredictionTask.Events), summary.Validation.Keys);
    }

    [Fact]
    public void Undefined_metrics_are_null_in_json_and_a_sink_keeps_names_inside_its_folder()
    {
        var scalars = ExperimentReport.Scalars(new Dictionary<string, double> { ["roc_auc"] = double.NaN, ["accuracy"] = 0.5 });
        Assert.Null(scalars["roc_auc"]);
        Assert.Equal(0.5, scalars["accuracy"]!.GetValue<double>());

        var folder = Path.Combine(Path.GetTempPath(), $"ca-sink-{Guid.NewGuid():N}");
        try
        {
            var sink = new FolderArtifactSink(folder);
            using (var stream = sink.Create("plots/a.txt")) stream.WriteByte(7);
            Assert.Equal([7], File.ReadAllBytes(Path.Combine(folder, "plots", "a.txt")));
            Assert.Throws<ArgumentException>(() => sink.Create("../escape.txt"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
