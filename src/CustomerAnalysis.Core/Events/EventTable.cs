namespace CustomerAnalysis.Core.Events;

/// <summary>
/// The events kept from one ingest, column by column. Row i is the i-th accepted row in source order (files in the
/// order the reader visited them, rows in file order), which is the last tie-break of the product's event order:
/// <c>event_timestamp</c>, then <c>event_bundle_sequence_id</c>, then source order.
/// User ids and event names are interned: a row holds indexes into <see cref="Users"/> and <see cref="EventNames"/>.
/// </summary>
public sealed class EventTable
{
    /// <summary>Sorts before every real bundle id, so rows without one come first among timestamp ties.</summary>
    public const long NoBundleSequenceId = long.MinValue;

    private readonly int[] _user;
    private readonly long[] _session;
    private readonly long[] _timestamp;
    private readonly long[] _bundle;
    private readonly int[] _name;

    internal EventTable(string[] users, string[] eventNames, int[] user, long[] session, long[] timestamp, long[] bundle,
        int[] name, int count, IngestReport report, EventSignals? signals = null)
    {
        Signals = signals;
        Users = users;
        EventNames = eventNames;
        _user = user;
        _session = session;
        _timestamp = timestamp;
        _bundle = bundle;
        _name = name;
        Count = count;
        Report = report;
    }

    /// <summary>Distinct <c>user_pseudo_id</c> values, in order of first appearance.</summary>
    public IReadOnlyList<string> Users { get; }

    /// <summary>Distinct <c>event_name</c> values, in order of first appearance.</summary>
    public IReadOnlyList<string> EventNames { get; }

    public int Count { get; }

    /// <summary>What was read and what was rejected, and why.</summary>
    public IngestReport Report { get; }

    public ReadOnlySpan<int> UserIndex => _user.AsSpan(0, Count);
    public ReadOnlySpan<long> GaSessionId => _session.AsSpan(0, Count);
    /// <summary>Microseconds since the Unix epoch, as GA4 stores them.</summary>
    public ReadOnlySpan<long> Timestamp => _timestamp.AsSpan(0, Count);
    /// <summary><c>event_bundle_sequence_id</c>, or <see cref="NoBundleSequenceId"/>.</summary>
    public ReadOnlySpan<long> BundleSequenceId => _bundle.AsSpan(0, Count);
    public ReadOnlySpan<int> NameIndex => _name.AsSpan(0, Count);

    /// <summary>The configured extra fields, row for row; null when none were read.</summary>
    public EventSignals? Signals { get; }
}

/// <summary>
/// Signal columns of an <see cref="EventTable"/>: one int per row per categorical field (a number into that field's
/// <see cref="Values"/>, where <see cref="Events.Signals.Missing"/> and <see cref="Events.Signals.Obfuscated"/> come
/// first), one float per row per numeric field (NaN = missing). 4 bytes per field per event.
/// </summary>
public sealed class EventSignals
{
    private readonly int[][] _categorical;
    private readonly float[][] _numeric;
    private readonly int _count;

    internal EventSignals(SignalSet fields, string[][] values, int[][] categorical, float[][] numeric, int count)
    {
        Fields = fields;
        Values = values;
        _categorical = categorical;
        _numeric = numeric;
        _count = count;
    }

    public SignalSet Fields { get; }

    /// <summary>Per categorical field, its distinct values by number (0 = &lt;MISSING&gt;, 1 = &lt;OBFUSCATED&gt;).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Values { get; }

    /// <summary>Column <paramref name="field"/> of <see cref="SignalSet.Categorical"/>.</summary>
    public ReadOnlySpan<int> Categorical(int field) => _categorical[field].AsSpan(0, _count);

    /// <summary>Column <paramref name="field"/> of <see cref="SignalSet.Numeric"/>.</summary>
    public ReadOnlySpan<float> Numeric(int field) => _numeric[field].AsSpan(0, _count);

    /// <summary>Bytes the columns hold per row (capacity included), for the memory report.</summary>
    public long ColumnBytes => _categorical.Sum(c => (long)c.Length * sizeof(int)) + _numeric.Sum(c => (long)c.Length * sizeof(float));
}
