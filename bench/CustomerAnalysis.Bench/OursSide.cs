using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;

namespace CustomerAnalysis.Bench;

/// <summary>Our side of <c>prepare-vs-duckdb</c>: the product's reader and preparer, default options.
/// Reads the export and prepares it in memory, as DuckDB's side does.</summary>
internal static class OursSide
{
    public static async Task<long> RunAsync(string input, PredictionTask task)
    {
        var table = await EventSources.Open(input).ReadTableAsync();
        var dataset = DatasetPreparer.Prepare(table, task, PrepareOptions.Default, "default");
        return dataset.Summary.Sequences;
    }
}
