using System.Collections.Concurrent;
using System.Diagnostics;
using CustomerAnalysis.Modeling.Prediction;

namespace CustomerAnalysis.Serving;

/// <summary>How much batching happened: forward passes run and the calls they served (for tests and benchmarks).</summary>
public interface IBatchStatistics
{
    long Passes { get; }
    long Calls { get; }
}

/// <summary>
/// Dynamic batching: calls that arrive while a forward pass runs are gathered into the next one, so concurrent
/// requests share one pass (one dispose scope, one thread) instead of queueing for one pass each.
/// <para>A call that finds the model idle runs at once on its own thread, with whatever is queued: a lone request
/// never waits for company. When the previous pass carried more than one call (requests are arriving concurrently),
/// the next pass may wait up to <see cref="MaxWait"/> for the calls of the previous pass's size to gather; the wait
/// is measured from the oldest queued call, so no call waits longer than that for a pass to start.</para>
/// <para>Results equal unbatched ones: sequences are right-padded and the models mask padding (up to float rounding
/// of a larger matrix product); a pass that fails is rerun call by call, so one bad call fails alone.</para>
/// </summary>
public sealed class PredictionBatcher : IBatchStatistics
{
    private sealed class Call(IReadOnlyList<SessionInput> sessions, int top)
    {
        public IReadOnlyList<SessionInput> Sessions { get; } = sessions;
        public int Top { get; } = top;
        public long QueuedAt { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource<IReadOnlyList<SessionPrediction>> Done { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Func<IReadOnlyList<SessionInput>, int, IReadOnlyList<SessionPrediction>> _predict;
    private readonly ConcurrentQueue<Call> _queue = new();
    /// <summary>1 while a runner owns the model (runs passes), else 0.</summary>
    private int _running;
    /// <summary>How many calls the previous pass carried: a sign of how many are arriving together.</summary>
    private int _lastCalls = 1;

    /// <param name="predict">One forward pass over the sessions (at most <see cref="MaxSessions"/> unless one call
    /// has more), top-k per session; called by one thread at a time.</param>
    public PredictionBatcher(Func<IReadOnlyList<SessionInput>, int, IReadOnlyList<SessionPrediction>> predict) =>
        _predict = predict;

    /// <summary>The most sessions in one pass (a single call with more runs alone).</summary>
    public int MaxSessions { get; init; } = 64;

    /// <summary>The longest a queued call waits for others before its pass starts (only once calls are seen to arrive
    /// together); zero: never wait.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(0.5);

    public long Passes => Interlocked.Read(ref _passes);
    public long Calls => Interlocked.Read(ref _calls);
    private long _passes, _calls;

    /// <summary>The predictions for <paramref name="sessions"/>, from a pass shared with concurrent calls. Completes
    /// synchronously when the model was idle (the caller's thread runs the pass).</summary>
    public Task<IReadOnlyList<SessionPrediction>> PredictAsync(IReadOnlyList<SessionInput> sessions, int top)
    {
        var call = new Call(sessions, top);
        _queue.Enqueue(call);
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
            RunPasses(firstPass: true);
        return call.Done.Task;
    }

    /// <summary>Owns the model: runs passes until the queue is empty. The caller's own pass runs inline; later ones
    /// continue on the thread pool, so the caller's response is not held behind other calls' passes.</summary>
    private void RunPasses(bool firstPass)
    {
        while (true)
        {
            if (!firstPass) WaitForCompany();
            var batch = Take();
            if (batch.Count > 0)
            {
                Run(batch);
                Volatile.Write(ref _lastCalls, batch.Count);
            }
            firstPass = false;
            if (!_queue.IsEmpty)
            {
                // More calls came during the pass: the next pass runs elsewhere, this thread returns to its caller.
                ThreadPool.UnsafeQueueUserWorkItem(static self => self.RunPasses(firstPass: false), this, preferLocal: false);
                return;
            }
            Volatile.Write(ref _running, 0);
            // A call enqueued after the emptiness check but before the release found _running = 1 and left: take it.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
                return;
        }
    }

    /// <summary>When the previous pass carried several calls, waits until as many are queued or the oldest has waited
    /// <see cref="MaxWait"/>, yielding the core between checks (the request handlers that will join need it; a
    /// sleeping wait cannot be shorter than the timer's millisecond).</summary>
    private void WaitForCompany()
    {
        var last = Volatile.Read(ref _lastCalls);
        if (last <= 1 || MaxWait <= TimeSpan.Zero) return;
        // Aim above the last pass, so batches can grow to the concurrency instead of settling at the first size seen.
        var wanted = Math.Min(2 * last, MaxSessions);
        while (_queue.Count < wanted && _queue.TryPeek(out var oldest)
               && Stopwatch.GetElapsedTime(oldest.QueuedAt) < MaxWait)
            Thread.Sleep(0);
    }

    private List<Call> Take()
    {
        var batch = new List<Call>();
        var sessions = 0;
        while (_queue.TryPeek(out var next))
        {
            if (batch.Count > 0 && sessions + next.Sessions.Count > MaxSessions) break;
            if (!_queue.TryDequeue(out var call)) break;
            batch.Add(call);
            sessions += call.Sessions.Count;
        }
        return batch;
    }

    private void Run(List<Call> batch)
    {
        Interlocked.Increment(ref _passes);
        Interlocked.Add(ref _calls, batch.Count);
        if (batch.Count == 1)
        {
            RunAlone(batch[0]);
            return;
        }
        IReadOnlyList<SessionPrediction> predictions;
        try
        {
            var sessions = batch.SelectMany(c => c.Sessions).ToArray();
            predictions = _predict(sessions, batch.Max(c => c.Top));
        }
        catch (Exception)
        {
            // One call's bad input must not fail the others: each is run again alone and gets its own answer.
            foreach (var call in batch) RunAlone(call);
            return;
        }
        var offset = 0;
        foreach (var call in batch)
        {
            var mine = new SessionPrediction[call.Sessions.Count];
            for (var i = 0; i < mine.Length; i++)
            {
                var prediction = predictions[offset + i];
                // The pass ran at the largest top-k of the batch; topk is sorted, so the first k are this call's.
                mine[i] = prediction.TopEvents.Count > call.Top
                    ? prediction with { TopEvents = prediction.TopEvents.Take(call.Top).ToArray() }
                    : prediction;
            }
            offset += mine.Length;
            call.Done.SetResult(mine);
        }
    }

    private void RunAlone(Call call)
    {
        try
        {
            call.Done.SetResult(_predict(call.Sessions, call.Top));
        }
        catch (Exception e)
        {
            call.Done.SetException(e);
        }
    }
}
