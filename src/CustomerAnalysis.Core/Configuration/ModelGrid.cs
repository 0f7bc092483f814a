using System.Text.Json.Nodes;

namespace CustomerAnalysis.Core.Configuration;

/// <summary>One configuration of the grid.</summary>
/// <param name="Index">0-based position in the cartesian product (the first grid key varies slowest), or the draw's
/// number in a random search.</param>
/// <param name="Settings">The grid values this trial uses, by setting name.</param>
/// <param name="Config">The full config of the trial (no grid).</param>
/// <param name="Seed">model_training_params.seed + index: trials differ, reruns repeat.</param>
public sealed record TrialSpec(int Index, IReadOnlyDictionary<string, JsonNode> Settings, NnConfig Config, int Seed);

/// <summary>The trials of a model config's <c>grid_search_params</c>: one walk shared by <c>ca train</c> and the
/// pipeline's orchestration, so both train the same points in the same order with the same seeds. Grid search walks
/// the cartesian product; random (and asha) search draws <c>search_trials</c> points with <c>search_seed</c>, the
/// same points for the same seed.</summary>
public static class ModelGrid
{
    /// <summary>The most trials one run may have; a bigger grid is refused.</summary>
    public const int MaxTrials = 1000;

    /// <summary>Draws per point before a duplicate of an earlier point is accepted (small discrete spaces).</summary>
    private const int DrawsPerPoint = 100;

    public static IReadOnlyList<TrialSpec> Expand(NnConfig config)
    {
        var pipeline = config.Pipeline;
        var points = pipeline.Search == SearchKind.Grid || (pipeline.Search == SearchKind.Asha && pipeline.SearchTrials == 0)
            ? Product(config)
            : Draw(config.Space, pipeline.SearchTrials, pipeline.SearchSeed ?? config.Training.Seed);
        return points
            .Select((settings, index) => new TrialSpec(index, settings, config.WithSettings(settings), config.Training.Seed + index))
            .ToArray();
    }

    private static IEnumerable<Dictionary<string, JsonNode>> Product(NnConfig config)
    {
        long count = 1;
        foreach (var (key, values) in config.Grid)
            if ((count *= values.Count) > MaxTrials)
                throw new InvalidInputException($"Setting {NnConfig.GridGroup} has more than {MaxTrials} combinations (at key {key}).");
        IEnumerable<Dictionary<string, JsonNode>> combinations = [new Dictionary<string, JsonNode>(StringComparer.Ordinal)];
        foreach (var (key, values) in config.Grid)
            combinations = combinations.SelectMany(partial => values.Select(value =>
                new Dictionary<string, JsonNode>(partial, StringComparer.Ordinal) { [key] = value }));
        return combinations;
    }

    /// <summary><paramref name="count"/> points, each setting drawn in the file's order from one seeded sequence; a
    /// point equal to an earlier one is drawn again (up to <see cref="DrawsPerPoint"/> times).</summary>
    private static List<Dictionary<string, JsonNode>> Draw(IReadOnlyList<SearchDimension> space, int count, int seed)
    {
        var random = new SearchRandom(seed);
        var points = new List<Dictionary<string, JsonNode>>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            Dictionary<string, JsonNode> point;
            var draws = 0;
            do
            {
                point = space.ToDictionary(d => d.Key, d => d.Draw(random), StringComparer.Ordinal);
            } while (!seen.Add(Key(point)) && ++draws < DrawsPerPoint);
            points.Add(point);
        }
        return points;
    }

    private static string Key(Dictionary<string, JsonNode> point) =>
        string.Join(";", point.Select(p => p.Key + "=" + p.Value.ToJsonString()));
}
