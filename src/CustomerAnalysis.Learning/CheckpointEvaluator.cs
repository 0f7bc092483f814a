using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Learning;

/// <summary>
/// Scores a checkpoint on a dataset's test split next to the baselines (<see cref="TestEvaluator"/>). A checkpoint
/// from another run (the production champion) has its own vocabulary: the dataset is re-encoded through it by event
/// name (names it never saw become <c>&lt;UNK&gt;</c>), so champion and challenger are scored on the same sequences.
/// </summary>
public sealed class CheckpointEvaluator : IEvaluator
{
    public Task<EvaluationResult> EvaluateAsync(PreparedDataset dataset, string checkpointPath, string? artifactsDirectory,
        CancellationToken cancellationToken)
    {
        var checkpoint = Read(checkpointPath);
        try
        {
            var data = InVocabulary(dataset, checkpoint.Vocabulary, testOnly: false);
            var evaluation = TestEvaluator.Evaluate(data, checkpoint);
            if (artifactsDirectory != null)
                WriteArtifacts(new FolderArtifactSink(artifactsDirectory), data, checkpoint, evaluation);
            return Task.FromResult(new EvaluationResult(
                MetricNames.Finite(evaluation.Model.Scalars),
                evaluation.Baselines.ToDictionary(b => b.Key, b => (IReadOnlyDictionary<string, double>)MetricNames.Finite(b.Value.Scalars))));
        }
        finally
        {
            checkpoint.Model.Dispose();
        }
    }

    public Task<IReadOnlyDictionary<string, double>> ScoreModelAsync(PreparedDataset dataset, string checkpointPath,
        CancellationToken cancellationToken)
    {
        var checkpoint = Read(checkpointPath);
        try
        {
            var test = InVocabulary(dataset, checkpoint.Vocabulary, testOnly: true);
            return Task.FromResult<IReadOnlyDictionary<string, double>>(
                MetricNames.Finite(TestEvaluator.ScoreModel(test, checkpoint).Scalars));
        }
        finally
        {
            checkpoint.Model.Dispose();
        }
    }

    private static ModelCheckpoint Read(string checkpointPath)
    {
        using var file = File.OpenRead(checkpointPath);
        return ModelCheckpoint.Read(file);
    }

    /// <summary>metrics.json, confusion matrix, true-vs-predicted bars, ROC with the baselines (churn), and the test
    /// attention export with its heatmap.</summary>
    private static void WriteArtifacts(IArtifactSink sink, PreparedDataset data, ModelCheckpoint checkpoint, TestEvaluation test)
    {
        var metric = checkpoint.Config.Pipeline.GridSearchMetric;
        var validation = checkpoint.Metrics.Where(m => m.Key.StartsWith("val_", StringComparison.Ordinal))
            .ToDictionary(m => m.Key["val_".Length..], m => m.Value);
        // The trials' own curves are uploaded with each trial: only the test evaluation is written here.
        ExperimentArtifacts.WriteMetrics(sink, test, metric, validation);
        ExperimentArtifacts.WritePlots(sink, test, data);
        if (checkpoint.Config.Pipeline.SaveAttentionWeights)
            ExperimentArtifacts.WriteAttention(sink, checkpoint, data.Test);
    }

    /// <summary>The dataset encoded with <paramref name="vocabulary"/> (itself when it already is); with
    /// <paramref name="testOnly"/>, only the test split is re-encoded and the others are left empty.</summary>
    internal static PreparedDataset InVocabulary(PreparedDataset dataset, Vocabulary vocabulary, bool testOnly)
    {
        if (dataset.Vocabulary.Tokens.SequenceEqual(vocabulary.Tokens, StringComparer.Ordinal))
            return dataset;
        var map = dataset.Vocabulary.Tokens.Select(vocabulary.Encode).ToArray();
        var events = dataset.Task == PredictionTask.Events;
        List<SequenceExample> Remap(IReadOnlyList<SequenceExample> split) => split.Select(e => e with
        {
            Tokens = e.Tokens.Select(t => map[t]).ToArray(),
            Label = events ? map[e.Label] : e.Label,
        }).ToList();
        return dataset with
        {
            Vocabulary = vocabulary,
            Train = testOnly ? [] : Remap(dataset.Train),
            Validation = testOnly ? [] : Remap(dataset.Validation),
            Test = Remap(dataset.Test),
            ValidationRecent = testOnly ? [] : Remap(dataset.ValidationRecent),
        };
    }
}
