using CustomerAnalysis.Ingestion.Files;

namespace CustomerAnalysis.Ingestion.Tests.Files;

public class OrderedReadAheadTests
{
    /// <summary>A producer whose items take a varying time, so that later producers often finish first.</summary>
    private static Func<CancellationToken, IAsyncEnumerable<int>> Producer(int id, int count, Action? onItem = null) =>
        token => Produce(id, count, onItem, token);

    private static async IAsyncEnumerable<int> Produce(int id, int count, Action? onItem,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Delay((id * 7 + i * 3) % 5, token);
            onItem?.Invoke();
            yield return id * 1000 + i;
        }
    }

    private static async IAsyncEnumerable<int> Failing([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token)
    {
        await Task.Yield();
        yield return 42;
        throw new InvalidDataException("file 2 is broken");
    }

    [Fact]
    public async Task Items_come_in_producer_order_whatever_finishes_first()
    {
        var producers = Enumerable.Range(0, 6).Select(id => Producer(id, 5)).ToArray();

        var items = new List<int>();
        await foreach (var item in OrderedReadAhead.ReadAsync(producers, parallelism: 3, itemsAhead: 1)) items.Add(item);

        Assert.Equal(Enumerable.Range(0, 6).SelectMany(id => Enumerable.Range(0, 5).Select(i => id * 1000 + i)), items);
    }

    [Fact]
    public async Task A_failing_producer_surfaces_after_the_items_before_it()
    {
        Func<CancellationToken, IAsyncEnumerable<int>>[] producers = [Producer(0, 3), Producer(1, 2), Failing, Producer(3, 3)];

        var items = new List<int>();
        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var item in OrderedReadAhead.ReadAsync(producers, parallelism: 4, itemsAhead: 1)) items.Add(item);
        });

        Assert.Equal("file 2 is broken", error.Message);
        Assert.Equal([0, 1, 2, 1000, 1001, 42], items);
    }

    [Fact]
    public async Task Producers_run_at_most_a_bounded_number_of_items_ahead()
    {
        var produced = 0;
        var producers = Enumerable.Range(0, 4).Select(id => Producer(id, 100, () => Interlocked.Increment(ref produced))).ToArray();

        await foreach (var _ in OrderedReadAhead.ReadAsync(producers, parallelism: 2, itemsAhead: 1))
        {
            await Task.Delay(50); // let the producers run as far as they are allowed
            // Two producers, each with one item in its channel and one being written: at most 4 items ahead.
            Assert.InRange(Volatile.Read(ref produced), 1, 5);
            break;
        }
    }
}
