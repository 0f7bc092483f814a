using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Cli.Commands;

/// <summary>What one of <c>ca run</c>'s models ended with: the run's result, its registry version, and the sample
/// prediction the HTTP API gave.</summary>
public sealed record RunOutcome(QuickRun Run, string RunId, TrainingResult Result, ModelVersionRecord? Version, JsonNode? Prediction)
{
    /// <summary><c>run_id</c>, <c>model</c> (name, version, stage), <c>test</c>, <c>validation</c> (the best trial's,
    /// <see cref="TrainingResult.Validation"/>), <c>baselines</c>, <c>prediction</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["run_id"] = RunId,
        ["model"] = new JsonObject
        {
            ["name"] = Result.ModelName,
            ["version"] = Result.ModelVersion,
            ["stage"] = Version?.Stage.ToString(),
        },
        ["test"] = JsonSerializer.SerializeToNode(Result.Test),
        ["validation"] = JsonSerializer.SerializeToNode(Result.Validation),
        ["baselines"] = JsonSerializer.SerializeToNode(Result.Baselines),
        ["prediction"] = Prediction?.DeepClone(),
    };

    /// <summary>The human-readable block: trials, model version and stage, metrics beside the baselines, the sample.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine($"{Run.Title}: run {RunId}, {Result.TrialsSucceeded} trials ({Result.TrialsFailed} failed), best {Result.BestTrialId}");
        text.AppendLine($"Model {Result.ModelName} v{Result.ModelVersion}: {Version?.Stage} ({Result.PromotionReason})");
        text.Append(MetricsTable());
        text.AppendLine($"Sample POST /{Run.PredictRoute} {Run.SampleRequest.ToJsonString()}");
        text.AppendLine($"  → {Prediction?.ToJsonString()}");
        return text.ToString();
    }

    /// <summary>Model and baselines side by side on the run's test split.</summary>
    private string MetricsTable()
    {
        var text = new StringBuilder();
        text.AppendLine($"{"test",-24}" + string.Concat(Run.ShownMetrics.Select(m => $"{m,15}")));
        void Row(string name, IReadOnlyDictionary<string, double> metrics) => text.AppendLine(
            $"{name,-24}" + string.Concat(Run.ShownMetrics.Select(m => metrics.TryGetValue(m, out var v) ? $"{v,15:0.0000}" : $"{"-",15}")));
        Row("model", Result.Test);
        foreach (var (name, metrics) in Result.Baselines) Row(name, metrics);
        // The best trial on its two validation splits (held-out users; last days, when the dataset has them).
        Row("model, val (users)", Result.Validation);
        if (Result.Validation.Keys.Any(k => k.StartsWith(TrialResult.RecentPrefix, StringComparison.Ordinal)))
            Row("model, val (last days)", Result.Validation
                .Where(m => m.Key.StartsWith(TrialResult.RecentPrefix, StringComparison.Ordinal))
                .ToDictionary(m => m.Key[TrialResult.RecentPrefix.Length..], m => m.Value));
        return text.ToString();
    }
}
