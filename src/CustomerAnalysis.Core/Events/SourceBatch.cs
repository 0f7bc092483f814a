namespace CustomerAnalysis.Core.Events;

/// <summary>
/// Consecutive rows of one source in columnar form: the fast way into <see cref="EventTableBuilder.AddBatch"/>
/// (a reader decodes columns anyway, and handing them over whole saves building and validating a
/// <see cref="SourceRow"/> per row).
/// <para>User ids and event names are numbers into the batch's own <see cref="Strings"/> (its distinct values). A
/// repeated user id then costs the builder an array lookup instead of a hash, and most of the hashing happens in the
/// reader, which can decode several batches at once on other threads.</para>
/// </summary>
public sealed class SourceBatch
{
    /// <summary>The string number of a missing (null) user id or event name.</summary>
    public const int Missing = -1;

    /// <param name="firstRowNumber">1-based row number of the batch's first row within the source.</param>
    /// <exception cref="ArgumentException">The columns differ in length.</exception>
    public SourceBatch(string source, long firstRowNumber, string[] strings, int[] user, int[] name, long?[] timestamp,
        long?[] gaSessionId, long?[] bundleSequenceId)
    {
        var count = user.Length;
        if (name.Length != count || timestamp.Length != count || gaSessionId.Length != count || bundleSequenceId.Length != count)
            throw new ArgumentException(
                $"SourceBatch columns of {source} differ in length: user {user.Length}, name {name.Length}, timestamp {timestamp.Length}, " +
                $"ga_session_id {gaSessionId.Length}, bundle {bundleSequenceId.Length}");
        Source = source;
        FirstRowNumber = firstRowNumber;
        Strings = strings;
        User = user;
        Name = name;
        Timestamp = timestamp;
        GaSessionId = gaSessionId;
        BundleSequenceId = bundleSequenceId;
    }

    public string Source { get; }
    public long FirstRowNumber { get; }
    /// <summary>The distinct user ids and event names of the batch, by number.</summary>
    public string[] Strings { get; }
    public int Count => User.Length;

    /// <summary>Number (in <see cref="Strings"/>) of each row's <c>user_pseudo_id</c>, or <see cref="Missing"/>.</summary>
    public int[] User { get; }
    /// <summary>Number (in <see cref="Strings"/>) of each row's <c>event_name</c>, or <see cref="Missing"/>.</summary>
    public int[] Name { get; }
    public long?[] Timestamp { get; }
    public long?[] GaSessionId { get; }
    public long?[] BundleSequenceId { get; }

    /// <summary>Per field of the reader's <see cref="SignalSet.Categorical"/>: each row's raw value as a number in
    /// <see cref="Strings"/> (<see cref="Missing"/> where null); null when no signals are read.</summary>
    public int[][]? SignalCategorical { get; init; }

    /// <summary>Per field of the reader's <see cref="SignalSet.Numeric"/>: each row's value (NaN where null); null when
    /// no signals are read.</summary>
    public float[][]? SignalNumeric { get; init; }
}
