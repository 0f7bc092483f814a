using CustomerAnalysis.Core;
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

    /// <summary>The extra GA4 fields this source reads (<see cref="SourceRow.Signals"/>); none by default.</summary>
    SignalSet Signals => SignalSet.None;
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
    /// <exception cref="InvalidInputException">Not one event could be kept: the source is empty, or every row was
    /// rejected (not a GA4 export, or the wrong columns). Training on nothing is never what was meant.</exception>
    public static async Task<EventTable> ReadTableAsync(this IEventSource source, IProgress<ReadProgress>? progress = null,
        int every = 100_000, CancellationToken cancellationToken = default)
    {
        var table = await ReadAllRowsAsync(source, UserShard.Whole, progress, every, cancellationToken).ConfigureAwait(false);
        if (table.Count == 0) throw new InvalidInputException(NothingReadMessage(source.Description, table.Report));
        return table;
    }

    /// <summary>"No events could be read from X: 3 rows, all rejected (2 missing event_name, 1 missing user_pseudo_id;
    /// first: f.ndjson row 1)".</summary>
    public static string NothingReadMessage(string description, IngestReport report)
    {
        if (report.RowsRead == 0) return $"No events could be read from {description}: it holds no rows.";
        var reasons = string.Join(", ", report.RejectedByReason.OrderByDescending(r => r.Value)
            .Select(r => $"{r.Value:N0} {ReasonText(r.Key)}"));
        var first = report.FirstRejected.Count > 0 ? $"; first: {report.FirstRejected[0].Source} row {report.FirstRejected[0].RowNumber}" : "";
        return $"No events could be read from {description}: {report.RowsRead:N0} row(s), all rejected ({reasons}{first}). " +
               "Is it a GA4 export (user_pseudo_id, event_timestamp, event_name, ga_session_id)?";
    }

    private static string ReasonText(RejectReason reason) => reason switch
    {
        RejectReason.MissingUserPseudoId => "missing user_pseudo_id",
        // A value that is not a 64-bit integer (1e400, "soon") is read as missing: say so, or the row looks empty.
        RejectReason.MissingEventTimestamp => "missing or non-integer event_timestamp",
        RejectReason.MissingEventName => "missing event_name",
        RejectReason.MissingGaSessionId => "missing or non-integer ga_session_id",
        _ => reason.ToString(),
    };

    /// <summary>Reads the rows of <paramref name="shard"/>'s users into an <see cref="EventTable"/> (every row is read,
    /// only the shard's are kept, so memory is bounded by the shard, not by the export). <paramref name="progress"/>
    /// counts the shard's rows. A shard may hold no events (few users, many shards): that is not an error here.</summary>
    public static Task<EventTable> ReadShardAsync(this IEventSource source, UserShard shard,
        IProgress<ReadProgress>? progress = null, int every = 100_000, CancellationToken cancellationToken = default) =>
        !shard.IsWhole && source is IShardableEventSource shardable
            ? ReadAllRowsAsync(shardable.ForShard(shard), UserShard.Whole, progress, every, cancellationToken)
            : ReadAllRowsAsync(source, shard, progress, every, cancellationToken);

    private static async Task<EventTable> ReadAllRowsAsync(IEventSource source, UserShard shard,
        IProgress<ReadProgress>? progress, int every, CancellationToken cancellationToken)
    {
        if (source is IBatchEventSource batched)
        {
            var expectedRows = await batched.CountRowsAsync(cancellationToken).ConfigureAwait(false);
            // A shard's share of the rows, with a margin, so that growth by doubling rarely starts.
            var builder = expectedRows is { } rows
                ? new EventTableBuilder(shard.IsWhole ? rows : rows / shard.Count + rows / shard.Count / 10 + 4096) { Shard = shard, Signals = source.Signals }
                : new EventTableBuilder { Shard = shard, Signals = source.Signals };
            await foreach (var batch in batched.ReadBatchesAsync(cancellationToken).ConfigureAwait(false))
            {
                var before = builder.RowsRead;
                builder.AddBatch(batch);
                if (progress is not null && builder.RowsRead / every > before / every)
                    progress.Report(new ReadProgress(builder.RowsRead, batch.Source));
            }
            return builder.Build();
        }

        var rowBuilder = new EventTableBuilder { Shard = shard, Signals = source.Signals };
        await foreach (var row in source.ReadRowsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!rowBuilder.Add(row) && !shard.Owns(row.UserPseudoId)) continue;
            if (progress is not null && rowBuilder.RowsRead % every == 0)
                progress.Report(new ReadProgress(rowBuilder.RowsRead, row.Source));
        }
        return rowBuilder.Build();
    }
}
