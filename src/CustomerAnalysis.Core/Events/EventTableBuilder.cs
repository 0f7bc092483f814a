namespace CustomerAnalysis.Core.Events;

/// <summary>
/// Accepts rows in source order, rejects those missing a required field (counted by reason, the first
/// <see cref="MaxReportedRejects"/> kept with their position) and builds an <see cref="EventTable"/>.
/// Memory grows with the rows kept, not with the rows read.
/// </summary>
public sealed class EventTableBuilder
{
    public const int MaxReportedRejects = 10;

    private readonly Dictionary<string, int> _userIds = new(StringComparer.Ordinal);
    private readonly List<string> _users = [];
    private readonly Dictionary<string, int> _nameIds = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly Dictionary<RejectReason, long> _rejectedByReason = [];
    private readonly List<RejectedRow> _firstRejected = [];

    private int[] _user = new int[1024];
    private long[] _session = new long[1024];
    private long[] _timestamp = new long[1024];
    private long[] _bundle = new long[1024];
    private int[] _name = new int[1024];
    private int _count;
    private long _rowsRead;

    public long RowsRead => _rowsRead;
    public int RowsKept => _count;

    /// <summary>Adds a row; returns false (and records why) when it lacks a required field.</summary>
    public bool Add(in SourceRow row)
    {
        _rowsRead++;
        var reason = Validate(row);
        if (reason is { } r)
        {
            _rejectedByReason[r] = _rejectedByReason.GetValueOrDefault(r) + 1;
            if (_firstRejected.Count < MaxReportedRejects)
                _firstRejected.Add(new RejectedRow(row.Source, row.RowNumber, r));
            return false;
        }

        if (_count == _user.Length) Grow();
        _user[_count] = Intern(row.UserPseudoId!, _userIds, _users);
        _session[_count] = row.GaSessionId!.Value;
        _timestamp[_count] = row.EventTimestamp!.Value;
        _bundle[_count] = row.EventBundleSequenceId ?? EventTable.NoBundleSequenceId;
        _name[_count] = Intern(row.EventName!, _nameIds, _names);
        _count++;
        return true;
    }

    public EventTable Build()
    {
        var report = new IngestReport(_rowsRead, _rowsRead - _count,
            new Dictionary<RejectReason, long>(_rejectedByReason), _firstRejected.ToArray());
        return new EventTable(_users.ToArray(), _names.ToArray(), _user, _session, _timestamp, _bundle, _name, _count,
            report);
    }

    private static RejectReason? Validate(in SourceRow row)
    {
        if (string.IsNullOrEmpty(row.UserPseudoId)) return RejectReason.MissingUserPseudoId;
        if (row.EventTimestamp is null) return RejectReason.MissingEventTimestamp;
        if (string.IsNullOrEmpty(row.EventName)) return RejectReason.MissingEventName;
        if (row.GaSessionId is null) return RejectReason.MissingGaSessionId;
        return null;
    }

    private static int Intern(string value, Dictionary<string, int> ids, List<string> values)
    {
        ref var id = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(ids, value, out var exists);
        if (!exists)
        {
            id = values.Count;
            values.Add(value);
        }
        return id;
    }

    private void Grow()
    {
        var size = _user.Length * 2;
        Array.Resize(ref _user, size);
        Array.Resize(ref _session, size);
        Array.Resize(ref _timestamp, size);
        Array.Resize(ref _bundle, size);
        Array.Resize(ref _name, size);
    }
}
