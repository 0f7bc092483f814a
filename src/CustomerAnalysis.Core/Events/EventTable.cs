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
        int[] name, int count, IngestReport report)
    {
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
}
