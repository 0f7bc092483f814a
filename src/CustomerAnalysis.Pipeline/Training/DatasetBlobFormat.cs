using System.IO.Compression;
using System.Text.Json;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>A prepared dataset as a blob: gzipped JSON of <see cref="PreparedDataset"/>; one shard's part of it
/// (before the merge) likewise, gzipped JSON of <see cref="PreparedShard"/>.</summary>
public static class DatasetBlobFormat
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static async Task WriteAsync(PreparedDataset dataset, Stream destination, CancellationToken cancellationToken = default)
    {
        await using var gzip = new GZipStream(destination, CompressionLevel.Fastest, leaveOpen: true);
        await JsonSerializer.SerializeAsync(gzip, dataset, Json, cancellationToken);
    }

    public static async Task WriteShardAsync(PreparedShard shard, Stream destination,
        CancellationToken cancellationToken = default)
    {
        await using var gzip = new GZipStream(destination, CompressionLevel.Fastest, leaveOpen: true);
        await JsonSerializer.SerializeAsync(gzip, shard, Json, cancellationToken);
    }

    public static async Task<PreparedShard> ReadShardAsync(Stream source, CancellationToken cancellationToken = default)
    {
        await using var gzip = new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
        return await JsonSerializer.DeserializeAsync<PreparedShard>(gzip, Json, cancellationToken)
               ?? throw new InvalidDataException("The dataset shard blob holds null.");
    }

    public static async Task<PreparedDataset> ReadAsync(Stream source, CancellationToken cancellationToken = default)
    {
        await using var gzip = new GZipStream(source, CompressionMode.Decompress, leaveOpen: true);
        return await JsonSerializer.DeserializeAsync<PreparedDataset>(gzip, Json, cancellationToken)
               ?? throw new InvalidDataException("The dataset blob holds null.");
    }
}
