namespace CustomerAnalysis.Serving;

/// <summary>How the HTTP prediction routes batch concurrent requests (see <see cref="PredictionBatcher"/>).</summary>
public sealed record ServingOptions
{
    /// <summary>Whether concurrent requests share forward passes; off: one pass per request, one at a time (as before
    /// batching; for comparison).</summary>
    public bool Batching { get; init; } = true;

    /// <summary>The most sessions (or users) in one forward pass; one request with more runs alone.</summary>
    public int MaxBatchSessions { get; init; } = 64;

    /// <summary>The longest a request waits for others to join its pass, once requests are seen to arrive together
    /// (a lone request never waits). At most 1 ms.</summary>
    public TimeSpan MaxBatchWait { get; init; } = TimeSpan.FromMilliseconds(0.5);

    /// <summary>The bound on <see cref="MaxBatchWait"/>: what a request may pay for company.</summary>
    public static readonly TimeSpan MaxBatchWaitLimit = TimeSpan.FromMilliseconds(1);
}
