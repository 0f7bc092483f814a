using System.Text.Json.Serialization;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Workers;

// The contract between the orchestration and the trial workers (documented in the README, "Trial workers"):
//
//   orchestration ──DispatchTrial/DispatchEvaluation activity──▶ queue {prefix}-trials   (one WorkItem per message)
//   trial worker  ──takes an item, renews its lease while it works, writes Blob + Table──▶
//                 ──WorkCompletion──▶ queue {prefix}-trial-done
//   completion relay (queue trigger in Azure, a listener in the local host) ──RaiseEvent(run, "work:{id}")──▶
//   orchestration (WaitForExternalEvent, with a durable timer whose expiry checks the trial records instead).
//
// Messages hold references (run, trial, blob names) and small metrics, never data or weights (64 KB queue limit).

[JsonConverter(typeof(JsonStringEnumConverter<WorkKind>))]
public enum WorkKind
{
    [JsonStringEnumMemberName("trial")] Trial,
    [JsonStringEnumMemberName("evaluate")] Evaluate,
}

/// <summary>Scores the winner (with baselines and plots) and the production champion on the run's test split.</summary>
/// <param name="ChampionVersion">The production version to compare with; null when there is none.</param>
public sealed record EvaluationWork(
    string RunId, string ModelName, string DatasetBlob, string CheckpointBlob,
    int? ChampionVersion, string? ChampionCheckpointBlob);

/// <summary>One message of the trial queue: a trial to train or a run's evaluation.</summary>
public sealed record WorkItem
{
    [JsonPropertyName("kind")] public required WorkKind Kind { get; init; }
    [JsonPropertyName("run_id")] public required string RunId { get; init; }
    [JsonPropertyName("trial")] public TrialInput? Trial { get; init; }
    [JsonPropertyName("evaluation")] public EvaluationWork? Evaluation { get; init; }

    /// <summary>The trial id, or <see cref="WorkEvents.EvaluationId"/>.</summary>
    [JsonIgnore] public string WorkId => Kind == WorkKind.Trial ? Trial!.TrialId : WorkEvents.EvaluationId;

    public static WorkItem ForTrial(TrialInput trial) => new() { Kind = WorkKind.Trial, RunId = trial.RunId, Trial = trial };

    public static WorkItem ForEvaluation(EvaluationWork work) =>
        new() { Kind = WorkKind.Evaluate, RunId = work.RunId, Evaluation = work };
}

/// <summary>What a worker reports when an item is done (succeeded, or failed for good).</summary>
public sealed record WorkCompletion
{
    [JsonPropertyName("run_id")] public required string RunId { get; init; }
    [JsonPropertyName("work_id")] public required string WorkId { get; init; }
    [JsonPropertyName("succeeded")] public required bool Succeeded { get; init; }
    [JsonPropertyName("trial")] public TrialOutcome? Trial { get; init; }
    [JsonPropertyName("evaluation")] public EvaluateOutput? Evaluation { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}

public static class WorkEvents
{
    public const string EvaluationId = "evaluate";

    /// <summary>The external event the orchestration waits for: <c>work:t003</c>, <c>work:evaluate</c>.</summary>
    public static string Name(string workId) => "work:" + workId;
}
