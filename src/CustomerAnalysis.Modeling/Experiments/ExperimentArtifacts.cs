using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Attention;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Plots;

namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>
/// Writes an experiment's artifacts to an <see cref="IArtifactSink"/>: the best checkpoint, <c>metrics.json</c>, the
/// plots and (when <c>save_attention_weights</c>) the test attention export with its cumulative-threshold analysis.
/// Each part can be written on its own.
/// </summary>
public static class ExperimentArtifacts
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public const string CheckpointName = "model.ckpt";
    public const string MetricsName = "metrics.json";
    public const string ConfusionMatrixName = "plots/confusion_matrix.png";
    public const string PredictionBarsName = "plots/true_vs_predicted.png";
    public const string RocCurveName = "plots/roc_curve.png";
    public const string ReliabilityName = "plots/reliability.png";
    public const string AttentionHeatmapName = "plots/attention_heatmap.png";
    public const string AttentionExportName = "attention/test_attention.json";
    public const string AttentionAnalysisName = "attention/test_attention_analysis.json";

    /// <summary>Sequences drawn in the attention heatmap.</summary>
    private const int HeatmapSequences = 12;

    public static string TrainingCurvesName(int trialIndex) => $"plots/training_curves/trial_{trialIndex:D3}.png";

    /// <returns>The names written, in order.</returns>
    public static IReadOnlyList<string> WriteAll(IArtifactSink sink, ExperimentReport report, ModelCheckpoint checkpoint, PreparedDataset data)
    {
        var written = new List<string> { WriteCheckpoint(sink, checkpoint), WriteMetrics(sink, report) };
        written.AddRange(WritePlots(sink, report, data));
        if (checkpoint.Config.Pipeline.SaveAttentionWeights && data.Test.Count > 0)
            written.AddRange(WriteAttention(sink, checkpoint, data.Test));
        return written;
    }

    public static string WriteCheckpoint(IArtifactSink sink, ModelCheckpoint checkpoint)
    {
        using var stream = sink.Create(CheckpointName);
        checkpoint.Write(stream);
        return CheckpointName;
    }

    public static string WriteMetrics(IArtifactSink sink, ExperimentReport report)
    {
        using var stream = sink.Create(MetricsName);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        report.ToJson().WriteTo(writer);
        return MetricsName;
    }

    /// <summary><c>metrics.json</c> for a model evaluated on its own (no grid search here, e.g. a pipeline run's
    /// winner): <c>{"grid_search_metric", "val", "test", "test_details", "baselines"}</c>, undefined values null.</summary>
    /// <param name="validation">The model's validation metrics, as its checkpoint recorded them.</param>
    public static string WriteMetrics(IArtifactSink sink, TestEvaluation test, string gridSearchMetric,
        IReadOnlyDictionary<string, double> validation)
    {
        var json = new JsonObject
        {
            ["grid_search_metric"] = gridSearchMetric,
            ["val"] = ExperimentReport.Scalars(validation),
            ["test"] = ExperimentReport.Scalars(test.Model.Scalars),
            ["test_details"] = ExperimentReport.Details(test.Model),
            ["baselines"] = new JsonObject(test.Baselines.Select(b =>
                KeyValuePair.Create(b.Key, (JsonNode?)ExperimentReport.Scalars(b.Value.Scalars)))),
        };
        // A model blended with trees (combine_with_trees): its sequence model alone on test; absent otherwise.
        if (test.SequenceModel is { } sequence) json[TestEvaluation.SequenceModelName] = ExperimentReport.Scalars(sequence.Scalars);
        using var stream = sink.Create(MetricsName);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteTo(writer);
        return MetricsName;
    }

    /// <summary>Training curves per trial, then the test plots (<see cref="WritePlots(IArtifactSink, TestEvaluation, PreparedDataset)"/>).</summary>
    public static IReadOnlyList<string> WritePlots(IArtifactSink sink, ExperimentReport report, PreparedDataset data)
    {
        var written = new List<string>();
        foreach (var trial in report.Trials.Where(t => t.History.Count > 0))
        {
            var history = new TrialHistory(trial.DisplayName,
                trial.History.Select(e => e.TrainLoss).ToArray(),
                trial.History.Select(e => e.ValidationLoss).ToArray(),
                report.GridSearchMetric,
                trial.History.Select(e => e.ValidationMetric).ToArray());
            written.Add(SavePlot(sink, TrainingCurvesName(trial.Index), path => TrainingCurves.Save(path, history)));
        }
        written.AddRange(WritePlots(sink, report.Test, data));
        return written;
    }

    /// <summary>Confusion matrix and true-vs-predicted bars on test; churn: ROC curves and the reliability diagram,
    /// model beside the baselines.</summary>
    public static IReadOnlyList<string> WritePlots(IArtifactSink sink, TestEvaluation test, PreparedDataset data)
    {
        var written = new List<string>();
        var labels = test.ModelPredictions.Labels;
        if (test.Model is NextEventReport events)
        {
            written.Add(SavePlot(sink, ConfusionMatrixName, path => ConfusionMatrixPlot.Save(path, events.ConfusionMatrix, "Confusion matrix (test)")));
            written.Add(SavePlot(sink, PredictionBarsName,
                path => PredictionBars.Save(path, labels, events.PredictedClasses, data.Vocabulary.Tokens, "True vs predicted next event (test)")));
        }
        else if (test.Model is ChurnReport churn)
        {
            string[] names = ["returned", "churned"];
            var matrix = new ConfusionMatrix([0, 1], names,
                [[churn.TrueNegatives, churn.FalsePositives], [churn.FalseNegatives, churn.TruePositives]]);
            var predicted = test.ModelPredictions.Probabilities.Select(p => p >= test.ChurnThreshold ? 1 : 0).ToArray();
            written.Add(SavePlot(sink, ConfusionMatrixName, path => ConfusionMatrixPlot.Save(path, matrix, "Confusion matrix (test)")));
            written.Add(SavePlot(sink, PredictionBarsName, path => PredictionBars.Save(path, labels, predicted, names, "True vs predicted churn (test)")));
            if (labels.Distinct().Count() == 2)
            {
                RocSeries[] series =
                [
                    new(TestEvaluation.ModelName, labels, PredictionScoring.ChurnProbabilities(test.ModelPredictions)),
                    .. test.BaselineChurnProbabilities.Select(b => new RocSeries(b.Key, labels, b.Value)),
                ];
                written.Add(SavePlot(sink, RocCurveName, path => RocCurvePlot.Save(path, series, "ROC curve (churn, test)")));
            }
            RocSeries[] calibration =
            [
                new(TestEvaluation.ModelName, labels, PredictionScoring.ChurnProbabilities(test.ModelPredictions)),
                .. test.BaselineChurnProbabilities.Select(b => new RocSeries(b.Key, labels, b.Value)),
            ];
            written.Add(SavePlot(sink, ReliabilityName, path => ReliabilityPlot.Save(path, calibration, "Reliability (churn, test)")));
        }
        return written;
    }

    /// <summary>The test split's attention export (the original's JSON), its cumulative-threshold analysis and a heatmap.</summary>
    public static IReadOnlyList<string> WriteAttention(IArtifactSink sink, ModelCheckpoint checkpoint, IReadOnlyList<SequenceExample> test)
    {
        var export = AttentionCollector.Collect(checkpoint, test, "test");
        var analysis = CumulativeAttentionAnalysis.Analyze(export, checkpoint.Config.Pipeline.AttentionThreshold);
        using (var stream = sink.Create(AttentionExportName)) JsonSerializer.Serialize(stream, export);
        using (var stream = sink.Create(AttentionAnalysisName)) JsonSerializer.Serialize(stream, analysis, IndentedJson);

        // A few sequences long enough to show where attention goes, spread over the split.
        var rows = export.Heads.SelectMany(batch => batch.BatchInputs.Zip(batch.AttentionWeights)).ToArray();
        var longEnough = rows.Where(r => r.First.Count >= 3).ToArray();
        var pool = longEnough.Length > 0 ? longEnough : rows;
        var step = Math.Max(1, pool.Length / HeatmapSequences);
        var shown = pool.Where((_, i) => i % step == 0).Take(HeatmapSequences).ToArray();
        var heatmap = SavePlot(sink, AttentionHeatmapName, path => AttentionHeatmap.Save(path,
            shown.Select(r => r.First).ToArray(), shown.Select(r => r.Second).ToArray(),
            $"Attention weights (test, {export.AttentionType})"));
        return [AttentionExportName, AttentionAnalysisName, heatmap];
    }

    /// <summary>The plots render to a file (ScottPlot's PNG writer): draw into a temporary one, then copy it to the sink.</summary>
    private static string SavePlot(IArtifactSink sink, string name, Func<string, SavedPlot> draw)
    {
        var temporary = Path.Combine(Path.GetTempPath(), $"ca-plot-{Guid.NewGuid():N}.png");
        try
        {
            draw(temporary);
            using var source = File.OpenRead(temporary);
            using var destination = sink.Create(name);
            source.CopyTo(destination);
        }
        finally
        {
            File.Delete(temporary);
        }
        return name;
    }
}
