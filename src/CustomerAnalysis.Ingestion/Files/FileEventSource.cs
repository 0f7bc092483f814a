using System.Runtime.CompilerServices;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.Json;
using CustomerAnalysis.Ingestion.Parquet;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>
/// Export files read in the order given (ordinal path order from <see cref="InputFiles"/>). Several files are
/// decoded in parallel (Parquet row groups, too), ahead of the consumer; rows still come out strictly in file order.
/// </summary>
public sealed class FileEventSource : IEventSource, IBatchEventSource
{
    /// <summary>Batches (a row group, or a few thousand JSON rows) each part may be decoded ahead of the consumer.</summary>
    private const int BatchesAheadPerPart = 2;

    public FileEventSource(string description, IReadOnlyList<string> files, int? parallelism = null)
    {
        Description = description;
        Files = files;
        Parallelism = parallelism ?? Math.Clamp(Environment.ProcessorCount, 1, 8);
    }

    public string Description { get; }
    public IReadOnlyList<string> Files { get; }

    /// <summary>How many parts (Parquet row groups, JSON files) are decoded at once.</summary>
    public int Parallelism { get; }

    public async IAsyncEnumerable<SourceRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var batch in ReadBatchesAsync(cancellationToken).ConfigureAwait(false))
            for (var i = 0; i < batch.Count; i++)
                yield return new SourceRow(
                    batch.User[i] == SourceBatch.Missing ? null : batch.Strings[batch.User[i]],
                    batch.Timestamp[i],
                    batch.Name[i] == SourceBatch.Missing ? null : batch.Strings[batch.Name[i]],
                    batch.GaSessionId[i],
                    batch.BundleSequenceId[i],
                    batch.Source,
                    batch.FirstRowNumber + i);
    }

    /// <summary>
    /// The rows in batches. The work is cut into parts decoded concurrently: one per Parquet row group (so that one big
    /// file keeps every core busy) and one per JSON file (JSON is read front to back).
    /// </summary>
    public async IAsyncEnumerable<SourceBatch> ReadBatchesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var parts = new List<Func<CancellationToken, IAsyncEnumerable<SourceBatch>>>();
        foreach (var file in Files)
            parts.AddRange(await PartsOfAsync(file, cancellationToken).ConfigureAwait(false));
        await foreach (var batch in OrderedReadAhead.ReadAsync(parts, Parallelism, BatchesAheadPerPart, cancellationToken)
                           .ConfigureAwait(false))
            yield return batch;
    }

    public async Task<long?> CountRowsAsync(CancellationToken cancellationToken = default)
    {
        long rows = 0;
        foreach (var file in Files)
        {
            if (InputFiles.FormatOf(file) != ExportFormat.Parquet) return null; // JSON must be read to be counted
            rows += (await ParquetEventReader.RowGroupSizesAsync(file, cancellationToken).ConfigureAwait(false)).Sum();
        }
        return rows;
    }

    private static async Task<IEnumerable<Func<CancellationToken, IAsyncEnumerable<SourceBatch>>>> PartsOfAsync(string file,
        CancellationToken cancellationToken)
    {
        switch (InputFiles.FormatOf(file))
        {
            case ExportFormat.Parquet:
                var sizes = await ParquetEventReader.RowGroupSizesAsync(file, cancellationToken).ConfigureAwait(false);
                var rowsBefore = 0L;
                var parts = new List<Func<CancellationToken, IAsyncEnumerable<SourceBatch>>>();
                for (var group = 0; group < sizes.Length; group++)
                {
                    var (thisGroup, thisRowsBefore) = (group, rowsBefore);
                    parts.Add(token => OneAsync(ParquetEventReader.ReadRowGroupAsync(file, thisGroup, thisRowsBefore, token)));
                    rowsBefore += sizes[group];
                }
                return parts;
            case ExportFormat.Json:
                return [token => JsonBatchesAsync(file, token)];
            default:
                throw new InvalidOperationException($"InputFiles let through an unsupported file: {file}");
        }
    }

    private static async IAsyncEnumerable<SourceBatch> OneAsync(Task<SourceBatch> batch)
    {
        yield return await batch.ConfigureAwait(false);
    }

    private static async IAsyncEnumerable<SourceBatch> JsonBatchesAsync(string file,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var rows in JsonEventReader.ReadBatchesAsync(file, new StringPool(), cancellationToken).ConfigureAwait(false))
            yield return BatchStrings.FromRows(rows, file);
    }
}
