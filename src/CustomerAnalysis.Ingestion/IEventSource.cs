using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion;

/// <summary>Progress of a long read: rows so far, and where.</summary>
public readonly record struct ReadProgress(long RowsRead, string CurrentSource);

/// <summary>
/// A GA4 export to read: Parquet or JSON files, or a BigQuery query. Rows come in source order (files in ordinal
/// path order, rows in file order) and are not validated here: <see cref="EventTableBuilder"/> does that.
/// </summary>
public interface IEventSource
{
    /// <summary>What is being read, for messages (a path, a glob, a table).</summary>
    string Description { get; }

    IAsyncEnumerable<SourceRow> ReadRowsAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A source that can hand out its rows in columnar batches, the fast way into <see cref="EventTableBuilder.AddBatch"/>.
/// <see cref="EventSourceExtensions.ReadTableAsync"/> uses it when a source has it.
/// </summary>
public interface IBatchEventSource
{
    /// <summary>The same rows as <see cref="IEventSource.ReadRowsAsync"/>, in the same order.</summary>
    IAsyncEnumerable<SourceBatch> ReadBatchesAsync(CancellationToken cancellationToken = default);

    /// <summary>The number of rows, when the source knows it without reading them (Parquet footers); else null.</summary>
    Task<long?> CountRowsAsync(CancellationToken cancellationToken = default);
}

/// <summary>A source that cuts its own user shards (BigQuery, server side, with its own hash): a shard of it is read
/// as a whole source, without <see cref="UserShard"/>'s client-side filter.</summary>
public interface IShardableEventSource
{
    /// <summary>The same source restricted to the users of <paramref name="shard"/> by the source's own rule.</summary>
    IEventSource ForShard(UserShard shard);
}

public static class EventSourceExtensions
{
    /// <summary>Reads every row into an <see cref="EventTable"/>, reporting progress every <paramref name="every"/> rows
    /// (from a batched source: after each batch that passes a multiple of it).</summary>
    public static Task<EventTable> ReadTableAsync(this IEventSource source, IProgress<ReadProgress>? progress = null,
        CancellationToken cancellationToken = default, int every = 100_000) =>
        source.ReadShardAsync(UserShard.Whole, progress, cancellationToken, every);

    /// <summary>Reads the rows of <paramref name="shard"/>'s users into an <see cref="EventTable"/> (every row is read,
    /// only the shard's are kept, so memory is bounded by the shard, not by the export). <paramref name="progress"/>
    /// counts the shard's rows.</summary>
    public static async Task<EventTable> ReadShardAsync(this IEventSource source, UserShard shard,
        IProgress<ReadProgress>? progress = null, CancellationToken cancellationToken = default, int every = 100_000)
    {
        if (!shard.IsWhole && source is IShardableEventSource shardable)
            return await shardable.ForShard(shard).ReadShardAsync(UserShard.Whole, progress, cancellationToken, every)
                .ConfigureAwait(false);
        if (source is IBatchEventSource batched)
        {
            var expectedRows = await batched.CountRowsAsync(cancellationToken).ConfigureAwait(false);
            // A shard's share of the rows, with a margin, so that growth by doubling rarely starts.
            var builder = expectedRows is { } rows
                ? new EventTableBuilder(shard.IsWhole ? rows : rows / shard.Count + rows / shard.Count / 10 + 4096) { Shard = shard }
                : new EventTableBuilder { Shard = shard };
            await foreach (var batch in batched.ReadBatchesAsync(cancellationToken).ConfigureAwait(false))
            {
                var before = builder.RowsRead;
                builder.AddBatch(batch);
                if (progress is not null && builder.RowsRead / every > before / every)
                    progress.Report(new ReadProgress(builder.RowsRead, batch.Source));
            }
            return builder.Build();
        }

        var rowBuilder = new EventTableBuilder { Shard = shard };
        await foreach (var row in source.ReadRowsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!rowBuilder.Add(row) && !shard.Owns(row.UserPseudoId)) continue;
            if (progress is not null && rowBuilder.RowsRead % every == 0)
                progress.Report(new ReadProgress(rowBuilder.RowsRead, row.Source));
        }
        return rowBuilder.Build();
    }
}
