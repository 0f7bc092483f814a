using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;

namespace CustomerAnalysis.Modeling.Tests;

/// <summary>Tiny datasets with a deterministic rule a model can learn perfectly.</summary>
internal static class SyntheticSequences
{
    public const int EventKinds = 8;
    public static readonly Vocabulary Vocabulary =
        new([Vocabulary.PadToken, Vocabulary.UnkToken, .. Enumerable.Range(0, EventKinds).Select(EventName)]);

    public static string EventName(int kind) => $"event_{kind}";

    /// <summary>Events: the label is the event after the last one in a cycle (event_k → event_k+1).
    /// Churn: the label is 1 when the sequence contains event_0.</summary>
    public static PreparedDataset Create(PredictionTask task, int train = 600, int validation = 150, int test = 150, int maxLength = 12, int seed = 1)
    {
        var random = new Random(seed);
        var options = PrepareOptions.Default;
        var summary = new PrepareSummary
        {
            Task = task == PredictionTask.Churn ? "churn" : "events", Protocol = "synthetic", RowsRead = 0, RowsRejected = 0,
            RowsRejectedByReason = new Dictionary<string, long>(), Users = 0, Sessions = 0, EventNames = new Dictionary<string, long>(),
            Sequences = train + validation + test, Labels = new Dictionary<string, long>(), Splits = new SplitSizes(train, validation, test),
        };
        return new PreparedDataset(task, options, Vocabulary, Make(train), Make(validation), Make(test), summary);

        IReadOnlyList<SequenceExample> Make(int count) => Enumerable.Range(0, count).Select(i =>
        {
            var length = random.Next(1, maxLength + 1);
            var tokens = Enumerable.Range(0, length).Select(_ => 2 + random.Next(EventKinds)).ToArray();
            var gaps = tokens.Select((_, t) => t == 0 ? 0f : random.Next(1, 600)).ToArray();
            var label = task == PredictionTask.Events
                ? 2 + (tokens[^1] - 2 + 1) % EventKinds
                : tokens.Contains(2) ? 1 : 0;
            return new SequenceExample($"s{i}", $"u{i}", tokens, gaps, label);
        }).ToArray();
    }

    public static NnConfig Config(string modelType, PredictionTask task, string init = "", string training = "", string pipeline = "") =>
        NnConfig.Parse($$"""
        {
          "model_type": "{{modelType}}",
          "model_init_params": { {{(init.Contains("max_sequence_length") ? init : "\"max_sequence_length\": 50" + Prefix(init))}} },
          "model_training_params": { "task": "{{(task == PredictionTask.Churn ? "churn" : "events")}}", "device": "cpu", "batch_size": 32 {{Prefix(training)}} },
          "pipeline_params": { {{pipeline}} }
        }
        """);

    private static string Prefix(string settings) => settings.Length == 0 ? "" : ", " + settings;

    /// <summary>Share of predictions whose most probable class is the label (events) or whose probability is on the
    /// label's side of 0.5 (churn). Test-only: the product's metrics live in the evaluation code.</summary>
    public static double Accuracy(CustomerAnalysis.Modeling.Training.PredictionSet predictions)
    {
        var correct = 0;
        for (var i = 0; i < predictions.Count; i++)
        {
            int predicted;
            if (predictions.Classes == 1) predicted = predictions.Probabilities[i] >= 0.5f ? 1 : 0;
            else
            {
                var row = predictions.Row(i);
                predicted = 0;
                for (var c = 1; c < row.Length; c++) if (row[c] > row[predicted]) predicted = c;
            }
            if (predicted == predictions.Labels[i]) correct++;
        }
        return (double)correct / predictions.Count;
    }

    public static readonly CustomerAnalysis.Modeling.Training.ValidationMetric AccuracyMetric = new("accuracy", Accuracy, HigherIsBetter: true);
}
