using System.Runtime.CompilerServices;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Json;

/// <summary>
/// Reads a GA4 JSON export: newline-delimited (as <c>bq extract --destination_format=NEWLINE_DELIMITED_JSON</c> writes
/// it) or one JSON array (the BigQuery console's download); the first non-whitespace byte tells which.
/// Streams the file through a buffer that holds at most a few rows, never a whole-file document.
/// </summary>
internal static class JsonEventReader
{
    /// <summary>Rows are handed out in batches of about this many.</summary>
    private const int BatchRows = 4096;

    /// <summary>The rows of <paramref name="path"/>, in batches.</summary>
    public static async IAsyncEnumerable<SourceRow[]> ReadBatchesAsync(string path, StringPool strings,
        SignalSet? signals = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = Open(path);
        await using (stream.ConfigureAwait(false))
        {
            var scanner = new JsonRowScanner(stream, path, strings, signals);
            var batch = new List<SourceRow>(BatchRows);
            var finished = false;
            while (!finished)
            {
                await scanner.FillAsync(cancellationToken).ConfigureAwait(false);
                finished = scanner.ScanBufferedRows(batch);
                if (batch.Count >= BatchRows || (finished && batch.Count > 0))
                {
                    yield return batch.ToArray();
                    batch.Clear();
                }
            }
        }
    }

    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read JSON file {path}: {e.Message}", e);
        }
    }
}
