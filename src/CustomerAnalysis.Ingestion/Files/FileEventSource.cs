using System.Runtime.CompilerServices;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.Json;
using CustomerAnalysis.Ingestion.Parquet;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>
/// Export files read in the order given (ordinal path order from <see cref="InputFiles"/>). Several files are
/// decoded in parallel, a batch or two ahead of the consumer; rows still come out strictly in file order.
/// </summary>
public sealed class FileEventSource : IEventSource, IBatchEventSource
{
    /// <summary>Batches (row groups, or a few thousand JSON rows) each file may be decoded ahead of the consumer.</summary>
    private const int BatchesAheadPerFile = 2;

    public FileEventSource(string description, IReadOnlyList<string> files, int? parallelism = null)
    {
        Description = description;
        Files = files;
        Parallelism = parallelism ?? Math.Clamp(Environment.ProcessorCount, 1, 8);
    }

    public string Description { get; }
    public IReadOnlyList<string> Files { get; }

    /// <summary>How many files are decoded at once.</summary>
    public int Parallelism { get; }

    public async IAsyncEnumerable<SourceRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The batches number their strings (see SourceBatch); rebuild each source's list to turn numbers into text.
        var strings = new List<string>();
        await foreach (var batch in ReadBatchesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (batch.FirstNewStringNumber == 0) strings.Clear();
            strings.AddRange(batch.NewStrings);
            for (var i = 0; i < batch.Count; i++)
                yield return new SourceRow(
                    batch.User[i] == SourceBatch.Missing ? null : strings[batch.User[i]],
                    batch.Timestamp[i],
                    batch.Name[i] == SourceBatch.Missing ? null : strings[batch.Name[i]],
                    batch.GaSessionId[i],
                    batch.BundleSequenceId[i],
                    batch.Source,
                    batch.FirstRowNumber + i);
        }
    }

    public IAsyncEnumerable<SourceBatch> ReadBatchesAsync(CancellationToken cancellationToken = default) =>
        OrderedReadAhead.ReadAsync(Files.Select(Batches).ToArray(), Parallelism, BatchesAheadPerFile, cancellationToken);

    private static Func<CancellationToken, IAsyncEnumerable<SourceBatch>> Batches(string file) => InputFiles.FormatOf(file) switch
    {
        ExportFormat.Parquet => token => ParquetEventReader.ReadRowGroupsAsync(file, token),
        ExportFormat.Json => token => JsonBatchesAsync(file, token),
        _ => throw new InvalidOperationException($"InputFiles let through an unsupported file: {file}"),
    };

    private static async IAsyncEnumerable<SourceBatch> JsonBatchesAsync(string file,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var numbering = new SourceStringNumbering();
        await foreach (var rows in JsonEventReader.ReadBatchesAsync(file, new StringPool(), cancellationToken).ConfigureAwait(false))
            yield return numbering.ToBatch(rows, file);
    }
}
