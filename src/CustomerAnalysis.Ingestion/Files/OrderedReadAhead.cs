using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>
/// Runs several producers (one per file or Parquet row group) at once and hands out their items in producer order, so
/// that decoding of later parts overlaps with the consumer's work on earlier ones. At most <c>parallelism</c> producers run, each at
/// most <c>itemsAhead</c> items ahead of the consumer: memory is bounded by that many batches, not by the input size.
/// A producer's exception surfaces after its earlier items, at the point where its items would have come.
/// </summary>
internal static class OrderedReadAhead
{
    public static async IAsyncEnumerable<T> ReadAsync<T>(IReadOnlyList<Func<CancellationToken, IAsyncEnumerable<T>>> producers,
        int parallelism, int itemsAhead, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channels = new Channel<T>[producers.Count];
        var running = new Task[producers.Count];
        var started = 0;

        void StartUpTo(int last)
        {
            for (; started <= last && started < producers.Count; started++)
            {
                var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(itemsAhead) { SingleReader = true, SingleWriter = true });
                var produce = producers[started];
                channels[started] = channel;
                running[started] = Task.Run(async () =>
                {
                    try
                    {
                        await foreach (var item in produce(stop.Token).ConfigureAwait(false))
                            await channel.Writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        channel.Writer.TryComplete();
                    }
                }, stop.Token);
            }
        }

        try
        {
            for (var next = 0; next < producers.Count; next++)
            {
                StartUpTo(next + Math.Max(1, parallelism) - 1);
                await foreach (var item in channels[next].Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    yield return item;
                await running[next].ConfigureAwait(false); // rethrows the producer's failure, if any
            }
        }
        finally
        {
            // The consumer stopped early or a producer failed: stop the others and let them finish.
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var task in running.Take(started))
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
