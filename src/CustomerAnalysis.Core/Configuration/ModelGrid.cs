using System.Text.Json.Nodes;

namespace CustomerAnalysis.Core.Configuration;

/// <summary>One configuration of the grid.</summary>
/// <param name="Index">0-based position in the cartesian product (the first grid key varies slowest).</param>
/// <param name="Settings">The grid values this trial uses, by setting name.</param>
/// <param name="Config">The full config of the trial (no grid).</param>
/// <param name="Seed">model_training_params.seed + index: trials differ, reruns repeat.</param>
public sealed record TrialSpec(int Index, IReadOnlyDictionary<string, JsonNode> Settings, NnConfig Config, int Seed);

/// <summary>The trials of a model config's <c>grid_search_params</c>: one walk shared by <c>ca train</c> and the
/// pipeline's orchestration, so both train the same grid points in the same order with the same seeds.</summary>
public static class ModelGrid
{
    public static IReadOnlyList<TrialSpec> Expand(NnConfig config)
    {
        IEnumerable<Dictionary<string, JsonNode>> combinations = [new Dictionary<string, JsonNode>(StringComparer.Ordinal)];
        foreach (var (key, values) in config.Grid)
            combinations = combinations.SelectMany(partial => values.Select(value =>
                new Dictionary<string, JsonNode>(partial, StringComparer.Ordinal) { [key] = value }));
        return combinations
            .Select((settings, index) => new TrialSpec(index, settings, config.WithSettings(settings), config.Training.Seed + index))
            .ToArray();
    }
}
