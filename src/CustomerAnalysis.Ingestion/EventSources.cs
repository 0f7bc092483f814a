using CustomerAnalysis.Ingestion.BigQuery;
using CustomerAnalysis.Ingestion.Files;

namespace CustomerAnalysis.Ingestion;

/// <summary>Opens a GA4 export named on the command line or in a request.</summary>
public static class EventSources
{
    /// <summary>
    /// <paramref name="input"/> is a file (<c>.parquet</c>, <c>.json</c>, <c>.jsonl</c>, <c>.ndjson</c>), a folder (its
    /// export files), a glob (<c>data/events_2021*.parquet</c>) or <c>bq://project.dataset.events_*?from=yyyymmdd&amp;to=yyyymmdd</c>.
    /// Files are resolved now, so a bad path fails here; rows are read when the source is enumerated.
    /// </summary>
    /// <exception cref="Core.InvalidInputException">Nothing matches, the URI is malformed, or an option is invalid.</exception>
    public static IEventSource Open(string input, EventSourceOptions? options = null)
    {
        if (input.StartsWith(BigQueryTableRange.Scheme, StringComparison.OrdinalIgnoreCase))
            return new BigQueryEventSource(BigQueryTableRange.Parse(input), options ?? new EventSourceOptions());
        return new FileEventSource(input, InputFiles.Resolve(input), signals: options?.Signals);
    }
}
