using System.Runtime.CompilerServices;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.Json;
using CustomerAnalysis.Ingestion.Parquet;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>
/// Export files read in the order given (ordinal path order from <see cref="InputFiles"/>). Several files are
/// decoded in parallel, a batch or two ahead of the consumer; rows still come out strictly in file order.
/// </summary>
public sealed class FileEventSource : IEventSource
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
        var producers = Files.Select(Batches).ToArray();
        await foreach (var batch in OrderedReadAhead.ReadAsync(producers, Parallelism, BatchesAheadPerFile, cancellationToken)
                           .ConfigureAwait(false))
            foreach (var row in batch)
                yield return row;
    }

    /// <summary>The batches of one file; each file has its own string pool because files are decoded concurrently.</summary>
    private static Func<CancellationToken, IAsyncEnumerable<SourceRow[]>> Batches(string file) => InputFiles.FormatOf(file) switch
    {
        ExportFormat.Parquet => token => ParquetEventReader.ReadRowGroupsAsync(file, new StringPool(), token),
        ExportFormat.Json => token => JsonEventReader.ReadBatchesAsync(file, new StringPool(), token),
        _ => throw new InvalidOperationException($"InputFiles let through an unsupported file: {file}"),
    };
}
