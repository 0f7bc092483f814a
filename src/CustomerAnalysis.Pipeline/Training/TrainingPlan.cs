using System.Text.Json;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Configuration;


namespace CustomerAnalysis.Pipeline.Training;

/// <summary>One grid point as the orchestrator schedules it: small and serialisable.</summary>
public sealed record PlannedTrial(string TrialId, IReadOnlyDictionary<string, JsonElement> Params, int Seed);

/// <summary>
/// What a run's model config means for the orchestration: the trials (Modeling's <see cref="ModelGrid.Expand"/>,
/// so <c>ca train</c> and the pipeline walk the same grid in the same order with the same seeds), the metric trials are
/// ranked on and champion/challenger are compared on (<c>grid_search_metric</c>; its direction is
/// <see cref="MetricNames.HigherIsBetter"/>). Pure and
/// deterministic: the orchestrator replays it.
/// </summary>
public sealed record TrainingPlan(IReadOnlyList<PlannedTrial> Trials, string Metric)
{
    public static TrainingPlan From(TrainingInput input)
    {
        var config = NnConfig.Parse(input.ModelConfig);
        if (config.Training.Task != input.Task)
            throw new InvalidInputException(
                $"The model config is for the {PredictionTasks.Name(config.Training.Task)} task, the run for {PredictionTasks.Name(input.Task)}.");
        var metric = config.Pipeline.GridSearchMetric;
        var trials = ModelGrid.Expand(config)
            .Select(spec => new PlannedTrial(TrialId(spec.Index),
                spec.Settings.ToDictionary(s => s.Key, s => JsonSerializer.SerializeToElement(s.Value), StringComparer.Ordinal),
                spec.Seed))
            .ToList();
        return new TrainingPlan(trials, metric);
    }

    public static string TrialId(int index) => $"t{index:D3}";
}
