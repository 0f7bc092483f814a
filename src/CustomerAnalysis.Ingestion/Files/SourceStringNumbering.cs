using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>
/// Numbers the distinct strings of one source in order of first use, looked up by span so that a repeated value
/// costs no allocation; <see cref="TakeNewStrings"/> hands each batch the strings it introduced
/// (see <see cref="SourceBatch"/>). One per file: files are decoded concurrently.
/// </summary>
internal sealed class SourceStringNumbering
{
    private readonly Dictionary<string, int> _numbers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _numbersBySpan;
    private List<string> _newStrings = [];

    public SourceStringNumbering() => _numbersBySpan = _numbers.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>How many strings were numbered before the current batch's new ones.</summary>
    public int FirstNewNumber { get; private set; }

    public int Number(ReadOnlySpan<char> text)
    {
        if (_numbersBySpan.TryGetValue(text, out var number)) return number;
        var created = text.ToString();
        number = _numbers.Count;
        _numbers.Add(created, number);
        _newStrings.Add(created);
        return number;
    }

    public int Number(string? text) => text is null ? SourceBatch.Missing : Number(text.AsSpan());

    /// <summary>The strings numbered since the last call, and where their numbering started.</summary>
    public (int FirstNumber, List<string> Strings) TakeNewStrings()
    {
        var taken = (FirstNewNumber, _newStrings);
        FirstNewNumber = _numbers.Count;
        _newStrings = [];
        return taken;
    }

    /// <summary>A batch of <paramref name="rows"/> (consecutive rows of this numbering's source).</summary>
    public SourceBatch ToBatch(IReadOnlyList<SourceRow> rows, string source)
    {
        var user = new int[rows.Count];
        var name = new int[rows.Count];
        var timestamp = new long?[rows.Count];
        var session = new long?[rows.Count];
        var bundle = new long?[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row.RowNumber != rows[0].RowNumber + i)
                throw new InvalidOperationException($"rows of a batch of {source} are not consecutive at row {row.RowNumber}");
            user[i] = Number(row.UserPseudoId);
            name[i] = Number(row.EventName);
            timestamp[i] = row.EventTimestamp;
            session[i] = row.GaSessionId;
            bundle[i] = row.EventBundleSequenceId;
        }
        var (firstNumber, strings) = TakeNewStrings();
        var firstRowNumber = rows.Count == 0 ? 1 : rows[0].RowNumber;
        return new SourceBatch(source, firstRowNumber, firstNumber, strings, user, name, timestamp, session, bundle);
    }
}
