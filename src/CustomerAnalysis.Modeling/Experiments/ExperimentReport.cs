using CustomerAnalysis.Core.Configuration;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>
/// What one trial of the grid produced, without its model: small and serialisable, so a pipeline can pass it from a
/// training step to the step that picks the best.
/// </summary>
/// <param name="Index">Position in the grid (<see cref="TrialSpec.Index"/>).</param>
/// <param name="Params">The grid values the trial used.</param>
/// <param name="Validation">Every metric of the task on the validation split, for the kept (best-epoch) weights.</param>
public sealed record TrialSummary(
    int Index,
    IReadOnlyDictionary<string, JsonNode> Params,
    int Seed,
    int BestEpoch,
    bool StoppedEarly,
    double Seconds,
    IReadOnlyDictionary<string, double> Validation,
    IReadOnlyList<EpochRecord> History)
{
    /// <summary>The asha rung epoch at which the search stopped this weak trial (stopped, not failed); null: none.</summary>
    public int? StoppedAtRung { get; init; }
    /// <summary>Every metric on the val_recent split (the last <c>holdout_days</c>), for the kept weights; empty when
    /// the dataset has no such split.</summary>
    public IReadOnlyDictionary<string, double> RecentValidation { get; init; } = new Dictionary<string, double>();
    /// <summary>The score the trial was ranked on (<c>validation_selection</c> of the grid metric on both splits).</summary>
    public double SelectionScore { get; init; } = double.NaN;

    public static TrialSummary From(TrialResult trial, PreparedDataset data, double churnThreshold) =>
        From(trial.Trial, trial.Training, trial.Seconds, data, churnThreshold);

    public static TrialSummary From(TrialSpec spec, TrainingResult training, double seconds, PreparedDataset data, double churnThreshold) => new(
        spec.Index, spec.Settings, spec.Seed, training.BestEpoch, training.StoppedEarly, seconds,
        PredictionScoring.Report(training.ValidationPredictions, data.Task, data.Vocabulary.Tokens, churnThreshold).Scalars,
        training.History)
    {
        StoppedAtRung = training.StoppedAtRung,
        RecentValidation = training.RecentValidationPredictions is { } recent
            ? PredictionScoring.Report(recent, data.Task, data.Vocabulary.Tokens, churnThreshold).Scalars
            : new Dictionary<string, double>(),
        SelectionScore = training.BestValidationMetric,
    };

    /// <summary><see cref="Validation"/> and, prefixed <c>recent_</c>, <see cref="RecentValidation"/>, and the
    /// <c>selection_score</c>: the flat validation metrics a pipeline trial reports.</summary>
    public IReadOnlyDictionary<string, double> FlatValidation()
    {
        var flat = new Dictionary<string, double>(Validation);
        foreach (var (name, value) in RecentValidation) flat[RecentPrefix + name] = value;
        flat[SelectionScoreName] = SelectionScore;
        return flat;
    }

    /// <summary>Prefix of the val_recent split's metrics among a trial's flat validation metrics.</summary>
    public const string RecentPrefix = "recent_";
    /// <summary>The key of the score trials are ranked on among a trial's flat validation metrics.</summary>
    public const string SelectionScoreName = "selection_score";

    /// <summary>A model trained on its own, outside a grid (e.g. one pipeline trial): index 0, no grid values, the
    /// config's seed.</summary>
    public static TrialSummary From(TrainingResult training, double seconds, PreparedDataset data, double churnThreshold) =>
        From(new TrialSpec(0, new Dictionary<string, JsonNode>(), training.Config, training.Config.Training.Seed),
            training, seconds, data, churnThreshold);

    /// <summary>"trial 3 (learning_rate=0.002, attention_type=global)".</summary>
    public string DisplayName => Params.Count == 0
        ? $"trial {Index}"
        : $"trial {Index} ({string.Join(", ", Params.Select(p => $"{p.Key}={p.Value.ToJsonString()}"))})";
}

/// <summary>A trial of the grid that failed: which one, and the error (one line).</summary>
public sealed record FailedTrialSummary(int Index, IReadOnlyDictionary<string, JsonNode> Params, int Seed, double Seconds, string Error)
{
    public string DisplayName => Params.Count == 0
        ? $"trial {Index}"
        : $"trial {Index} ({string.Join(", ", Params.Select(p => $"{p.Key}={p.Value.ToJsonString()}"))})";
}

/// <summary>
/// The outcome of a grid search: the best trial (its parameters, validation and test metrics), the baselines on the
/// same test split and every trial. <see cref="ToJson"/> is <c>metrics.json</c> and <c>ca train --json</c>.
/// </summary>
public sealed record ExperimentReport(string GridSearchMetric, TrialSummary Best, TestEvaluation Test, IReadOnlyList<TrialSummary> Trials)
{
    /// <summary>The trials that threw (not in <see cref="Trials"/>); the report is of the others.</summary>
    public IReadOnlyList<FailedTrialSummary> FailedTrials { get; init; } = [];

    /// <summary>
    /// <c>{"best": {"trial", "params", "grid_search_metric", "best_epoch", "val", "val_recent", "selection_score", "test", "test_details"},
    /// "baselines": {name: metrics}, "trials": [{"trial", "params", "seed", "best_epoch", "stopped_early", "stopped_at_rung" (asha; null: not stopped by the search), "seconds",
    /// "val", "val_recent", "selection_score", "history"}], "failed_trials": [{"trial", "params", "seed", "seconds", "error"}]}</c>. Metric names are Core's (<c>top1_accuracy</c>, <c>roc_auc</c>, …); undefined (NaN)
    /// values are null.
    /// </summary>
    public JsonObject ToJson()
    {
        var json = Json();
        // A model blended with trees (combine_with_trees): best.sequence_model, its sequence model alone on test.
        if (Test.SequenceModel is { } sequence) json["best"]![TestEvaluation.SequenceModelName] = Scalars(sequence.Scalars);
        return json;
    }

    private JsonObject Json() => new()
    {
        ["best"] = new JsonObject
        {
            ["trial"] = Best.Index,
            ["params"] = Params(Best.Params),
            ["grid_search_metric"] = GridSearchMetric,
            ["best_epoch"] = Best.BestEpoch,
            ["val"] = Scalars(Best.Validation),
            ["val_recent"] = Scalars(Best.RecentValidation),
            ["selection_score"] = Number(Best.SelectionScore),
            ["test"] = Scalars(Test.Model.Scalars),
            ["test_details"] = Details(Test.Model),
        },
        ["baselines"] = new JsonObject(Test.Baselines.Select(b => KeyValuePair.Create(b.Key, (JsonNode?)Scalars(b.Value.Scalars)))),
        ["trials"] = new JsonArray(Trials.Select(t => (JsonNode)new JsonObject
        {
            ["trial"] = t.Index,
            ["params"] = Params(t.Params),
            ["seed"] = t.Seed,
            ["best_epoch"] = t.BestEpoch,
            ["stopped_early"] = t.StoppedEarly,
            ["stopped_at_rung"] = t.StoppedAtRung,
            ["seconds"] = Number(t.Seconds),
            ["val"] = Scalars(t.Validation),
            ["val_recent"] = Scalars(t.RecentValidation),
            ["selection_score"] = Number(t.SelectionScore),
            ["history"] = new JsonArray(t.History.Select(e => (JsonNode)new JsonObject
            {
                ["epoch"] = e.Epoch,
                ["train_loss"] = Number(e.TrainLoss),
                ["val_loss"] = Number(e.ValidationLoss),
                ["val_metric"] = Number(e.ValidationMetric),
                ["val_recent_metric"] = Number(e.RecentValidationMetric),
                ["seconds"] = Number(e.Seconds),
                ["sequences_per_second"] = Number(e.SequencesPerSecond),
            }).ToArray()),
        }).ToArray()),
        ["failed_trials"] = new JsonArray(FailedTrials.Select(t => (JsonNode)new JsonObject
        {
            ["trial"] = t.Index,
            ["params"] = Params(t.Params),
            ["seed"] = t.Seed,
            ["seconds"] = Number(t.Seconds),
            ["error"] = t.Error,
        }).ToArray()),
    };

    public string ToJsonString(bool indented = true) => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = indented });

    /// <summary>JSON has no NaN: an undefined metric is null.</summary>
    public static JsonNode? Number(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;

    public static JsonObject Scalars(IReadOnlyDictionary<string, double> scalars) =>
        new(scalars.Select(s => KeyValuePair.Create(s.Key, Number(s.Value))));

    private static JsonObject Params(IReadOnlyDictionary<string, JsonNode> settings) =>
        new(settings.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value.DeepClone())));

    /// <summary>Events: per-class report and confusion matrix; churn: the confusion counts at the threshold.</summary>
    internal static JsonObject Details(IEvaluationReport report) => report switch
    {
        NextEventReport events => new JsonObject
        {
            ["per_class"] = new JsonArray(events.PerClass.Select(c => (JsonNode)new JsonObject
            {
                ["event"] = c.Name,
                ["support"] = c.Support,
                ["predicted"] = c.Predicted,
                ["precision"] = Number(c.Precision),
                ["recall"] = Number(c.Recall),
                ["f1"] = Number(c.F1),
            }).ToArray()),
            ["confusion_matrix"] = new JsonObject
            {
                ["labels"] = new JsonArray(events.ConfusionMatrix.ClassNames.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
                ["counts"] = new JsonArray(events.ConfusionMatrix.Counts
                    .Select(row => (JsonNode)new JsonArray(row.Select(n => (JsonNode)JsonValue.Create(n)).ToArray())).ToArray()),
            },
        },
        ChurnReport churn => new JsonObject
        {
            ["threshold"] = churn.Threshold,
            ["true_positives"] = churn.TruePositives,
            ["false_positives"] = churn.FalsePositives,
            ["true_negatives"] = churn.TrueNegatives,
            ["false_negatives"] = churn.FalseNegatives,
        },
        _ => [],
    };
}
