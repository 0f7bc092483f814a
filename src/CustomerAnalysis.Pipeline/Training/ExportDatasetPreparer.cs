using System.Text;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.BigQuery;
using CustomerAnalysis.Ingestion.Files;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>Reads a GA4 export (anything <c>ca prepare --input</c> accepts) and prepares it, as <c>ca prepare</c> does
/// with the default protocol.</summary>
public sealed class ExportDatasetPreparer : IDatasetPreparer, IShardPreparer
{
    public async Task<PreparedShard> PrepareShardAsync(string source, PredictionTask task, PrepareOptions options,
        UserShard shard, CancellationToken cancellationToken)
    {
        var events = await EventSources.Open(source, EventSourceOptions.FromEnvironment() with { Signals = options.SignalSet })
            .ReadShardAsync(shard, progress: null, cancellationToken: cancellationToken);
        return DatasetPreparer.PrepareShard(events, task, options, DatasetPreparer.DefaultProtocol, shard);
    }

    public async Task<PreparedDataset> PrepareAsync(string source, PredictionTask task, PrepareOptions options,
        CancellationToken cancellationToken)
    {
        var events = await EventSources.Open(source, EventSourceOptions.FromEnvironment() with { Signals = options.SignalSet })
            .ReadTableAsync(progress: null, cancellationToken: cancellationToken);
        return DatasetPreparer.Prepare(events, task, options, DatasetPreparer.DefaultProtocol);
    }

    /// <summary>A <c>bq://</c> URI is parsed; a path, folder or glob is resolved to its files (which must exist) and
    /// each file's head is checked to look like an export: Parquet's magic at both ends, JSON that starts with
    /// <c>{</c> or <c>[</c> and names <c>event_name</c> (every GA4 row has it, near its start) early on.</summary>
    public void CheckSource(string source)
    {
        if (source.StartsWith(BigQueryTableRange.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            BigQueryTableRange.Parse(source);
            return;
        }
        var files = InputFiles.Resolve(source);
        // An empty file among others (a day without events) is no reason to refuse the rest.
        var nonEmpty = files.Where(f => files.Count == 1 || new FileInfo(f).Length > 0).ToList();
        if (nonEmpty.Count == 0)
            throw new InvalidInputException($"Every file of {source} is empty: not a GA4 export.");
        foreach (var file in nonEmpty)
            CheckLooksLikeExport(file);
    }

    private const int JsonHeadBytes = 64 * 1024;
    private static readonly byte[] ParquetMagic = "PAR1"u8.ToArray();
    private static readonly byte[] EventNameKey = "\"event_name\""u8.ToArray();

    internal static void CheckLooksLikeExport(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            if (stream.Length == 0)
                throw new InvalidInputException($"Input file {file} is empty: not a GA4 export.");
            if (InputFiles.FormatOf(file) == ExportFormat.Parquet)
            {
                Span<byte> head = stackalloc byte[4], tail = stackalloc byte[4];
                if (stream.Length < 12 || stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4)
                    throw NotParquet(file);
                stream.Seek(-4, SeekOrigin.End);
                stream.ReadExactly(tail);
                if (!head.SequenceEqual(ParquetMagic) || !tail.SequenceEqual(ParquetMagic))
                    throw NotParquet(file);
                return;
            }
            var buffer = new byte[(int)Math.Min(stream.Length, JsonHeadBytes)];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var text = buffer.AsSpan(0, read);
            if (text.StartsWith(Encoding.UTF8.Preamble)) text = text[Encoding.UTF8.Preamble.Length..];
            text = text.TrimStart(" \t\r\n"u8);
            if (text.IsEmpty || (text[0] != (byte)'{' && text[0] != (byte)'['))
                throw new InvalidInputException($"Input file {file} is not JSON (it starts with neither '{{' nor '['): not a GA4 export.");
            if (text.IndexOf(EventNameKey) < 0)
                throw new InvalidInputException(
                    $"Input file {file} has no \"event_name\" in its first {JsonHeadBytes / 1024} KB: not a GA4 export.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read input file {file}: {e.Message}", e);
        }
    }

    private static InvalidInputException NotParquet(string file) =>
        new($"Input file {file} is not a Parquet file (no PAR1 magic at its ends): not a GA4 export.");
}
