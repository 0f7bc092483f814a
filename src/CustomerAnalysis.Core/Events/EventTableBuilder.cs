using System.Runtime.InteropServices;

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

    // AddBatch: the user / name id given to each of a batch's strings, NotLookedUp until a kept row uses it, so
    // that ids are still handed out in order of first appearance. Reused from batch to batch.
    private const int NotLookedUp = -1;
    private int[] _userIdOfString = [];
    private int[] _nameIdOfString = [];

    private int[] _user = new int[1024];
    private long[] _session = new long[1024];
    private long[] _timestamp = new long[1024];
    private long[] _bundle = new long[1024];
    private int[] _name = new int[1024];
    private int _count;
    private long _rowsRead;

    public EventTableBuilder()
    {
    }

    /// <param name="expectedRows">Rows the source is known to hold (an upper bound of those kept): the columns are
    /// allocated once at that size instead of growing by doubling, which copies them and overshoots.</param>
    public EventTableBuilder(long expectedRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedRows);
        EnsureCapacity((int)Math.Min(expectedRows, Array.MaxLength));
    }

    /// <summary>Only rows of this shard's users are read (kept or rejected); the others are skipped uncounted, so the
    /// shards' counts add up to the unsharded ones. Rows without a user id belong to shard 0.</summary>
    public UserShard Shard { get; init; } = UserShard.Whole;

    // AddBatch with a shard: whether each of a batch's strings (as a user id) is this shard's, 0 until looked up.
    private const sbyte NotOwned = -1, Owned = 1;
    private sbyte[] _ownedString = [];

    /// <summary>The extra fields the reader was asked for (the same set): their columns are kept beside the others,
    /// values cleaned and interned per field (<see cref="SignalColumns"/>). Empty: no signal columns at all.</summary>
    public SignalSet Signals { get; init; } = SignalSet.None;

    private SignalColumns? _signals;

    private SignalColumns? SignalColumnsOrNull()
    {
        if (_signals is null && !Signals.IsEmpty) _signals = new SignalColumns(Signals, _user.Length);
        return _signals;
    }

    public long RowsRead => _rowsRead;
    public int RowsKept => _count;

    /// <summary>Adds a row; returns false (and records why) when it lacks a required field.</summary>
    public bool Add(in SourceRow row)
    {
        if (!Shard.Owns(row.UserPseudoId)) return false;
        _rowsRead++;
        var reason = Validate(row.UserPseudoId, row.EventTimestamp, row.EventName, row.GaSessionId);
        if (reason is { } r)
        {
            Reject(row.Source, row.RowNumber, r);
            return false;
        }

        EnsureCapacity(_count + 1);
        _user[_count] = Intern(row.UserPseudoId!, _userIds, _users);
        _session[_count] = row.GaSessionId!.Value;
        _timestamp[_count] = row.EventTimestamp!.Value;
        _bundle[_count] = row.EventBundleSequenceId ?? EventTable.NoBundleSequenceId;
        _name[_count] = Intern(row.EventName!, _nameIds, _names);
        SignalColumnsOrNull()?.Add(_count, row.Signals);
        _count++;
        return true;
    }

    /// <summary>Adds a batch's rows, in order, with the same rules as <see cref="Add"/>.</summary>
    /// <exception cref="ArgumentException">A row refers to a string number the batch does not define.</exception>
    public void AddBatch(SourceBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var strings = batch.Strings;
        if (_userIdOfString.Length < strings.Length)
        {
            _userIdOfString = new int[Math.Max(strings.Length, _userIdOfString.Length * 2)];
            _nameIdOfString = new int[_userIdOfString.Length];
        }
        var userIdOfString = _userIdOfString.AsSpan(0, strings.Length);
        var nameIdOfString = _nameIdOfString.AsSpan(0, strings.Length);
        userIdOfString.Fill(NotLookedUp);
        nameIdOfString.Fill(NotLookedUp);
        var sharded = !Shard.IsWhole;
        if (sharded)
        {
            if (_ownedString.Length < strings.Length) _ownedString = new sbyte[_userIdOfString.Length];
            _ownedString.AsSpan(0, strings.Length).Clear();
        }
        var ownedString = _ownedString.AsSpan(0, sharded ? strings.Length : 0);

        EnsureCapacity(_count + batch.Count);
        var signals = SignalColumnsOrNull();
        signals?.StartBatch(batch);
        for (var i = 0; i < batch.Count; i++)
        {
            var user = batch.User[i];
            var name = batch.Name[i];
            if ((uint)(user + 1) > (uint)strings.Length || (uint)(name + 1) > (uint)strings.Length)
                throw new ArgumentException(
                    $"Batch of {batch.Source}, row {batch.FirstRowNumber + i}: string number {Math.Max(user, name)} is not defined " +
                    $"(the batch has {strings.Length} strings)");
            if (sharded)
            {
                if (user == SourceBatch.Missing)
                {
                    if (Shard.Index != 0) continue;
                }
                else
                {
                    ref var owned = ref ownedString[user];
                    if (owned == 0) owned = Shard.Owns(strings[user]) ? Owned : NotOwned;
                    if (owned == NotOwned) continue;
                }
            }
            _rowsRead++;
            var userText = user == SourceBatch.Missing ? null : strings[user];
            var nameText = name == SourceBatch.Missing ? null : strings[name];
            var reason = Validate(userText, batch.Timestamp[i], nameText, batch.GaSessionId[i]);
            if (reason is { } r)
            {
                Reject(batch.Source, batch.FirstRowNumber + i, r);
                continue;
            }

            ref var userId = ref userIdOfString[user];
            if (userId == NotLookedUp) userId = Intern(userText!, _userIds, _users);
            ref var nameId = ref nameIdOfString[name];
            if (nameId == NotLookedUp) nameId = Intern(nameText!, _nameIds, _names);
            _user[_count] = userId;
            _session[_count] = batch.GaSessionId[i]!.Value;
            _timestamp[_count] = batch.Timestamp[i]!.Value;
            _bundle[_count] = batch.BundleSequenceId[i] ?? EventTable.NoBundleSequenceId;
            _name[_count] = nameId;
            signals?.AddFromBatch(_count, batch, i);
            _count++;
        }
    }

    public EventTable Build()
    {
        var report = new IngestReport(_rowsRead, _rowsRead - _count,
            new Dictionary<RejectReason, long>(_rejectedByReason), _firstRejected.ToArray());
        return new EventTable(_users.ToArray(), _names.ToArray(), _user, _session, _timestamp, _bundle, _name, _count,
            report, SignalColumnsOrNull()?.Build(_count));
    }

    private static RejectReason? Validate(string? userPseudoId, long? eventTimestamp, string? eventName, long? gaSessionId)
    {
        if (string.IsNullOrEmpty(userPseudoId)) return RejectReason.MissingUserPseudoId;
        if (eventTimestamp is null) return RejectReason.MissingEventTimestamp;
        if (string.IsNullOrEmpty(eventName)) return RejectReason.MissingEventName;
        if (gaSessionId is null) return RejectReason.MissingGaSessionId;
        return null;
    }

    private void Reject(string source, long rowNumber, RejectReason reason)
    {
        _rejectedByReason[reason] = _rejectedByReason.GetValueOrDefault(reason) + 1;
        if (_firstRejected.Count < MaxReportedRejects)
            _firstRejected.Add(new RejectedRow(source, rowNumber, reason));
    }

    private static int Intern(string value, Dictionary<string, int> ids, List<string> values)
    {
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, value, out var exists);
        if (!exists)
        {
            id = values.Count;
            values.Add(value);
        }
        return id;
    }

    private void EnsureCapacity(int rows)
    {
        if (rows <= _user.Length) return;
        var size = (int)Math.Clamp(_user.Length * 2L, rows, Array.MaxLength);
        Array.Resize(ref _user, size);
        Array.Resize(ref _session, size);
        Array.Resize(ref _timestamp, size);
        Array.Resize(ref _bundle, size);
        Array.Resize(ref _name, size);
        _signals?.Resize(size);
    }

    /// <summary>
    /// The signal columns being built. Categorical texts are cleaned (<see cref="Events.Signals.Marker"/>: missing and
    /// obfuscated values get their own numbers, never a real category's; <see cref="Events.Signals.Clean"/>) and
    /// interned per field, so a row costs one int per categorical field and one float per numeric one.
    /// </summary>
    private sealed class SignalColumns
    {
        private readonly SignalSet _set;
        private readonly Dictionary<string, int>[] _ids;
        private readonly List<string>[] _values;
        private readonly int[][] _categorical;
        private readonly float[][] _numeric;
        // Batches: the value number of each batch string per field, NotLookedUp until used (reused per batch).
        private int[][] _numberOfString;

        public SignalColumns(SignalSet set, int capacity)
        {
            _set = set;
            var categorical = set.Categorical.Count;
            _ids = new Dictionary<string, int>[categorical];
            _values = new List<string>[categorical];
            _categorical = new int[categorical][];
            _numberOfString = new int[categorical][];
            for (var f = 0; f < categorical; f++)
            {
                _ids[f] = new Dictionary<string, int>(StringComparer.Ordinal);
                _values[f] = [Events.Signals.MissingToken, Events.Signals.ObfuscatedToken];
                _categorical[f] = new int[capacity];
                _numberOfString[f] = [];
            }
            _numeric = new float[set.Numeric.Count][];
            for (var f = 0; f < _numeric.Length; f++) _numeric[f] = new float[capacity];
        }

        public void Resize(int size)
        {
            for (var f = 0; f < _categorical.Length; f++) Array.Resize(ref _categorical[f], size);
            for (var f = 0; f < _numeric.Length; f++) Array.Resize(ref _numeric[f], size);
        }

        private int Number(int field, string? raw)
        {
            if (raw is null) return Events.Signals.Missing;
            var marker = Events.Signals.Marker(raw);
            if (marker >= 0) return marker;
            var clean = Events.Signals.Clean(_set.Categorical[field], raw);
            if (Events.Signals.Marker(clean) is var cleanMarker and >= 0) return cleanMarker;
            return Intern(clean, _ids[field], _values[field]);
        }

        public void Add(int row, SignalRow? signals)
        {
            for (var f = 0; f < _categorical.Length; f++)
                _categorical[f][row] = Number(f, signals is not null && f < signals.Categorical.Length ? signals.Categorical[f] : null);
            for (var f = 0; f < _numeric.Length; f++)
                _numeric[f][row] = signals is not null && f < signals.Numeric.Length && signals.Numeric[f] is { } value
                    ? (float)value
                    : float.NaN;
        }

        public void StartBatch(SourceBatch batch)
        {
            var strings = batch.Strings.Length;
            for (var f = 0; f < _categorical.Length; f++)
            {
                if (_numberOfString[f].Length < strings) _numberOfString[f] = new int[Math.Max(strings, _numberOfString[f].Length * 2)];
                _numberOfString[f].AsSpan(0, strings).Fill(NotLookedUp);
            }
        }

        public void AddFromBatch(int row, SourceBatch batch, int index)
        {
            var categorical = batch.SignalCategorical;
            for (var f = 0; f < _categorical.Length; f++)
            {
                var number = categorical is not null && f < categorical.Length ? categorical[f][index] : SourceBatch.Missing;
                if (number == SourceBatch.Missing)
                {
                    _categorical[f][row] = Events.Signals.Missing;
                    continue;
                }
                if ((uint)number >= (uint)batch.Strings.Length)
                    throw new ArgumentException($"Batch of {batch.Source}, row {batch.FirstRowNumber + index}: signal string number {number} is not defined");
                ref var id = ref _numberOfString[f][number];
                if (id == NotLookedUp) id = Number(f, batch.Strings[number]);
                _categorical[f][row] = id;
            }
            var numeric = batch.SignalNumeric;
            for (var f = 0; f < _numeric.Length; f++)
                _numeric[f][row] = numeric is not null && f < numeric.Length ? numeric[f][index] : float.NaN;
        }

        public EventSignals Build(int count) =>
            new(_set, _values.Select(v => v.ToArray()).ToArray(), _categorical, _numeric, count);
    }
}
