using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Evaluation.Baselines;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Baselines;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>
/// A model and every baseline of <see cref="BaselineSuite"/>, plus the gradient-boosted trees
/// (<see cref="GradientBoostedTreesBaseline"/>), scored on the same (test) split by the same metric code.
/// </summary>
/// <param name="Model">The model's report.</param>
/// <param name="Baselines">Baseline name → report, in <see cref="BaselineSuite"/>'s order, trees last.</param>
/// <param name="ModelPredictions">What the model predicted (for plots).</param>
/// <param name="BaselineChurnProbabilities">Churn: baseline name → its probabilities (for ROC curves); events: empty.</param>
public sealed record TestEvaluation(
    PredictionTask Task,
    double ChurnThreshold,
    IEvaluationReport Model,
    IReadOnlyDictionary<string, IEvaluationReport> Baselines,
    PredictionSet ModelPredictions,
    IReadOnlyDictionary<string, double[]> BaselineChurnProbabilities)
{
    public const string ModelName = "model";
    public const string SequenceModelName = "sequence_model";

    /// <summary>A model blended with trees (<c>combine_with_trees</c>): its sequence model alone (calibrated on its
    /// own validation predictions), so the blend's gain is in plain sight; null for a sequence model alone.</summary>
    public IEvaluationReport? SequenceModel { get; init; }

    /// <summary>Model first (then its sequence model alone, when blended), then the baselines: the side-by-side table
    /// of <see cref="EvaluationComparison"/>.</summary>
    public string ToText()
    {
        var rows = new Dictionary<string, IEvaluationReport> { [ModelName] = Model };
        if (SequenceModel is not null) rows[SequenceModelName] = SequenceModel;
        foreach (var (name, report) in Baselines) rows[name] = report;
        return EvaluationComparison.ToText(rows);
    }
}

/// <summary>Scores a trained model on a dataset's test split next to the baselines (fitted on its training split).</summary>
public static class TestEvaluator
{
    /// <summary>The trees see what the model sees: time-gap features only when the model uses gaps, the dataset's
    /// signals only when the model uses them (<c>use_signals</c>); the config's seed.</summary>
    public static GradientBoostedTreesOptions TreesFor(NnConfig config, PreparedDataset? data = null) =>
        TreesBlend.OptionsFor(config, data?.Signals);

    /// <summary>From the model's test predictions (e.g. <see cref="GridSearchResult.TestPredictions"/>).</summary>
    /// <param name="trees">How the trees baseline is fitted (<see cref="TreesFor"/> the model's config).</param>
    /// <param name="sequenceModelPredictions">A blended model's sequence model alone on test (reported beside it).</param>
    public static TestEvaluation Evaluate(PreparedDataset data, PredictionSet testPredictions, double churnThreshold,
        GradientBoostedTreesOptions trees, PredictionSet? sequenceModelPredictions = null)
    {
        if (data.Test.Count == 0) throw new InvalidInputException("The dataset's test split is empty: there is nothing to evaluate on.");
        if (testPredictions.Count != data.Test.Count)
            throw new ArgumentException($"{testPredictions.Count} predictions for {data.Test.Count} test examples.", nameof(testPredictions));

        var labels = data.Test.Select(e => e.Label).ToArray();
        var model = PredictionScoring.Report(testPredictions, data.Task, data.Vocabulary.Tokens, churnThreshold);
        var baselines = new Dictionary<string, IEvaluationReport>();
        var churnProbabilities = new Dictionary<string, double[]>();
        if (data.Task == PredictionTask.Events)
        {
            INextEventBaseline[] extra =
                [GradientBoostedTreesBaseline.FitNextEvent(data.Train, data.Validation, data.Vocabulary.Count, trees)];
            foreach (var baseline in BaselineSuite.FitNextEvent(data.Train, data.Vocabulary.Count, extra))
                baselines[baseline.Name] = NextEventMetrics.Compute(labels, baseline.PredictScores(data.Test), data.Vocabulary.Tokens);
        }
        else
        {
            IChurnBaseline[] extra =
                [GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, data.Vocabulary.Count, trees)];
            foreach (var baseline in BaselineSuite.FitChurn(data.Train, data.Vocabulary.Count, extra))
            {
                var probabilities = baseline.PredictChurnProbabilities(data.Test);
                churnProbabilities[baseline.Name] = probabilities;
                baselines[baseline.Name] = ChurnMetrics.Compute(labels, probabilities, churnThreshold);
            }
        }
        return new TestEvaluation(data.Task, churnThreshold, model, baselines, testPredictions, churnProbabilities)
        {
            SequenceModel = sequenceModelPredictions is null ? null
                : PredictionScoring.Report(sequenceModelPredictions, data.Task, data.Vocabulary.Tokens, churnThreshold),
        };
    }

    /// <summary>From a checkpoint (e.g. one a separate training step wrote): predicts the test split, then scores it.</summary>
    public static TestEvaluation Evaluate(PreparedDataset data, ModelCheckpoint checkpoint)
    {
        // The sequence model's own test predictions, once: served as they are blended and calibrated, and reported
        // alone beside a blend.
        var modelPredictions = PredictSequenceModel(data, checkpoint);
        return Evaluate(data, checkpoint.Served(modelPredictions, data.Test), checkpoint.Config.Pipeline.ProbThreshold,
            TreesFor(checkpoint.Config, data), checkpoint.TreesBlend is null ? null : SequenceModelAlone(data, checkpoint, modelPredictions));
    }

    /// <summary>The model's report on the test split only: the same scores as <see cref="Evaluate(PreparedDataset, ModelCheckpoint)"/>
    /// without fitting the baselines (only <paramref name="data"/>'s test split is read).</summary>
    public static IEvaluationReport ScoreModel(PreparedDataset data, ModelCheckpoint checkpoint)
    {
        if (data.Test.Count == 0) throw new InvalidInputException("The dataset's test split is empty: there is nothing to evaluate on.");
        return PredictionScoring.Report(checkpoint.Served(PredictSequenceModel(data, checkpoint), data.Test), data.Task,
            data.Vocabulary.Tokens, checkpoint.Config.Pipeline.ProbThreshold);
    }

    /// <summary>The checkpoint's sequence model on the test split, uncalibrated and not blended: scored as served
    /// through <see cref="ModelCheckpoint.Served"/> (blended with its trees, if any, then churn calibrated).</summary>
    private static PredictionSet PredictSequenceModel(PreparedDataset data, ModelCheckpoint checkpoint, IReadOnlyList<SequenceExample>? split = null)
    {
        RequireCompatible(data, checkpoint);
        var config = checkpoint.Config;
        return Trainer.Predict(checkpoint.Model, split ?? data.Test, config.Init.MaxSequenceLength, config.Training.BatchSize);
    }

    /// <summary>A blended checkpoint's sequence model alone on test (<paramref name="test"/>: its predictions there),
    /// churn calibrated on its own validation predictions.</summary>
    private static PredictionSet SequenceModelAlone(PreparedDataset data, ModelCheckpoint checkpoint, PredictionSet test)
    {
        var config = checkpoint.Config;
        if (checkpoint.Task != PredictionTask.Churn || data.Validation.Count == 0) return test;
        var validation = PredictSequenceModel(data, checkpoint, data.Validation);
        var recent = config.Pipeline.ChurnCalibrationData == CalibrationData.ValidationAndRecent && data.ValidationRecent.Count > 0
            ? PredictSequenceModel(data, checkpoint, data.ValidationRecent)
            : null;
        // The config's calibration, on the same splits, as a checkpoint of the sequence model alone would have.
        var calibration = ModelCheckpoint.FitChurnCalibration(config, validation, recent);
        return test with { Probabilities = test.Probabilities.Select(p => (float)calibration.Apply(p)).ToArray() };
    }

    /// <summary>A model only reads a dataset encoded with its own vocabulary, for its own task.</summary>
    public static void RequireCompatible(PreparedDataset data, ModelCheckpoint checkpoint)
    {
        if (checkpoint.Task != data.Task)
            throw new InvalidInputException($"The model predicts {PredictionTasks.Name(checkpoint.Task)} but the dataset is for {PredictionTasks.Name(data.Task)}.");
        if (!checkpoint.Vocabulary.Tokens.SequenceEqual(data.Vocabulary.Tokens, StringComparer.Ordinal))
            throw new InvalidInputException(
                $"The model's vocabulary ({checkpoint.Vocabulary.Count} tokens) differs from the dataset's ({data.Vocabulary.Count}): " +
                "evaluate on the dataset the model was trained on.");
        if (checkpoint.Model.Signals is { } signals && (data.Signals is null
                || System.Text.Json.JsonSerializer.Serialize(signals.Features) != System.Text.Json.JsonSerializer.Serialize(data.Signals.Features)))
            throw new InvalidInputException(
                "The model uses signals encoded otherwise than the dataset's (or the dataset has none): evaluate on the dataset the model was trained on.");
    }

}
