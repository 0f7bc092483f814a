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

    public FileEventSource(string description, IReadOnlyList<string> files, int? parallelism = null, SignalSet? signals = null)
    {
        Signals = signals ?? SignalSet.None;
        Description = description;
        Files = files;
        Parallelism = parallelism ?? Math.Clamp(Environment.ProcessorCount, 1, 8);
    }

    public string Description { get; }
    public IReadOnlyList<string> Files { get; }

    /// <summary>The extra fields read from every file beside the required four.</summary>
    public SignalSet Signals { get; }

    /// <summary>How many parts (Parquet row groups, JSON files) are decoded at once.</summary>
    public int Parallelism { get; }

    private Task<long[]?[]>? _rowGroupSizes;

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
                    batch.FirstRowNumber + i,
                    RowSignals(batch, i));
    }

    private static SignalRow? RowSignals(SourceBatch batch, int i) =>
        batch.SignalCategorical is null && batch.SignalNumeric is null ? null
            : new SignalRow(
                (batch.SignalCategorical ?? []).Select(c => c[i] == SourceBatch.Missing ? null : batch.Strings[c[i]]).ToArray(),
                (batch.SignalNumeric ?? []).Select(c => float.IsNaN(c[i]) ? (double?)null : c[i]).ToArray());

    /// <summary>
    /// The rows in batches. The work is cut into parts decoded concurrently: one per Parquet row group (so that one big
    /// file keeps every core busy) and one per JSON file (JSON is read front to back).
    /// </summary>
    public async IAsyncEnumerable<SourceBatch> ReadBatchesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var rowGroupSizes = await RowGroupSizesAsync(cancellationToken).ConfigureAwait(false);
        var parts = new List<Func<CancellationToken, IAsyncEnumerable<SourceBatch>>>();
        for (var f = 0; f < Files.Count; f++)
        {
            var file = Files[f];
            if (rowGroupSizes[f] is not { } sizes)
            {
                parts.Add(token => JsonBatchesAsync(file, Signals, token));
                continue;
            }
            var rowsBefore = 0L;
            for (var group = 0; group < sizes.Length; group++)
            {
                var (thisGroup, thisRowsBefore) = (group, rowsBefore);
                parts.Add(token => OneAsync(ParquetEventReader.ReadRowGroupAsync(file, thisGroup, thisRowsBefore, Signals, token)));
                rowsBefore += sizes[group];
            }
        }
        await foreach (var batch in OrderedReadAhead.ReadAsync(parts, Parallelism, BatchesAheadPerPart, cancellationToken)
                           .ConfigureAwait(false))
            yield return batch;
    }

    public async Task<long?> CountRowsAsync(CancellationToken cancellationToken = default)
    {
        var rowGroupSizes = await RowGroupSizesAsync(cancellationToken).ConfigureAwait(false);
        // JSON must be read to be counted.
        return rowGroupSizes.All(sizes => sizes is not null) ? rowGroupSizes.Sum(sizes => sizes!.Sum()) : null;
    }

    /// <summary>
    /// The row-group sizes of each Parquet file (null for JSON), read from the footers once per source and in
    /// parallel: a read of the real export is a few tenths of a second, and footers read one by one before any
    /// decoding starts were a noticeable part of it. A failed or cancelled attempt is not kept.
    /// </summary>
    private Task<long[]?[]> RowGroupSizesAsync(CancellationToken cancellationToken)
    {
        var sizes = _rowGroupSizes;
        if (sizes is null || sizes.IsFaulted || sizes.IsCanceled)
            _rowGroupSizes = sizes = Task.WhenAll(Files.Select(file => RowGroupSizesAsync(file, cancellationToken)));
        return sizes;
    }

    private static async Task<long[]?> RowGroupSizesAsync(string file, CancellationToken cancellationToken) =>
        InputFiles.FormatOf(file) switch
        {
            ExportFormat.Parquet => await ParquetEventReader.RowGroupSizesAsync(file, cancellationToken).ConfigureAwait(false),
            ExportFormat.Json => null,
            _ => throw new InvalidOperationException($"InputFiles let through an unsupported file: {file}"),
        };

    private static async IAsyncEnumerable<SourceBatch> OneAsync(Task<SourceBatch> batch)
    {
        yield return await batch.ConfigureAwait(false);
    }

    private static async IAsyncEnumerable<SourceBatch> JsonBatchesAsync(string file, SignalSet signals,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var rows in JsonEventReader.ReadBatchesAsync(file, new StringPool(), signals, cancellationToken).ConfigureAwait(false))
            yield return BatchStrings.FromRows(rows, file, signals);
    }
}
