using System.Text.Json;

namespace CustomerAnalysis.Pipeline.Training;

public static class GridSearch
{
    /// <summary>The cartesian product of the grid, parameters in ordinal name order, values in the given order
    /// (deterministic: the orchestrator replays it). An empty grid is one trial with no parameters.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> Expand(
        IReadOnlyDictionary<string, IReadOnlyList<JsonElement>> grid)
    {
        IEnumerable<Dictionary<string, JsonElement>> points = [new Dictionary<string, JsonElement>()];
        foreach (var (name, values) in grid.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (values.Count == 0)
                throw new ArgumentException($"Grid parameter '{name}' has no values.");
            points = points.SelectMany(point => values.Select(value =>
                new Dictionary<string, JsonElement>(point) { [name] = value }));
        }
        return points.ToList<IReadOnlyDictionary<string, JsonElement>>();
    }

    public static string TrialId(int index) => $"t{index:D3}";
}
