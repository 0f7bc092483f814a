using System.Runtime.CompilerServices;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.Json;
using CustomerAnalysis.Ingestion.Parquet;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>Export files read one after the other, in the order given (ordinal path order from <see cref="InputFiles"/>).</summary>
public sealed class FileEventSource : IEventSource
{
    public FileEventSource(string description, IReadOnlyList<string> files)
    {
        Description = description;
        Files = files;
    }

    public string Description { get; }
    public IReadOnlyList<string> Files { get; }

    public async IAsyncEnumerable<SourceRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // One pool across files: users recur from day to day.
        var strings = new StringPool();
        foreach (var file in Files)
        {
            var rows = InputFiles.FormatOf(file) switch
            {
                ExportFormat.Parquet => ParquetEventReader.ReadAsync(file, strings, cancellationToken),
                ExportFormat.Json => JsonEventReader.ReadAsync(file, strings, cancellationToken),
                _ => throw new InvalidOperationException($"InputFiles let through an unsupported file: {file}"),
            };
            await foreach (var row in rows.ConfigureAwait(false)) yield return row;
        }
    }
}
