using System.Text;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.Parquet;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>
/// Numbers the distinct strings of one <see cref="SourceBatch"/> in order of first use, looked up by span so that a
/// repeated value costs no allocation.
/// </summary>
internal sealed class BatchStrings : IValueNumbering
{
    /// <summary>Longer values are rare (GA4 ids and names are short) and take the allocating path.</summary>
    private const int StackDecodeChars = 256;

    private readonly Dictionary<string, int> _numbers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _numbersBySpan;
    private readonly List<string> _strings = [];

    public BatchStrings() => _numbersBySpan = _numbers.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Number(ReadOnlySpan<char> text)
    {
        if (_numbersBySpan.TryGetValue(text, out var number)) return number;
        var created = text.ToString();
        number = _strings.Count;
        _numbers.Add(created, number);
        _strings.Add(created);
        return number;
    }

    public int Number(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > StackDecodeChars) return Number(Encoding.UTF8.GetString(utf8).AsSpan());
        Span<char> text = stackalloc char[StackDecodeChars]; // UTF-8 never has fewer bytes than UTF-16 has chars
        return Number(text[..Encoding.UTF8.GetChars(utf8, text)]);
    }

    public int Number(string? text) => text is null ? SourceBatch.Missing : Number(text.AsSpan());

    /// <summary>The strings numbered so far, by number.</summary>
    public string[] ToArray() => _strings.ToArray();

    /// <summary>A batch of <paramref name="rows"/>: consecutive rows of <paramref name="source"/>.</summary>
    /// <param name="signals">The fields the rows' <see cref="SourceRow.Signals"/> hold (aligned with it).</param>
    public static SourceBatch FromRows(IReadOnlyList<SourceRow> rows, string source, SignalSet? signals = null)
    {
        signals ??= SignalSet.None;
        var categorical = signals.IsEmpty ? null : new int[signals.Categorical.Count][];
        var numeric = signals.IsEmpty ? null : new float[signals.Numeric.Count][];
        for (var f = 0; f < (categorical?.Length ?? 0); f++) categorical![f] = new int[rows.Count];
        for (var f = 0; f < (numeric?.Length ?? 0); f++) numeric![f] = new float[rows.Count];
        var strings = new BatchStrings();
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
            user[i] = strings.Number(row.UserPseudoId);
            name[i] = strings.Number(row.EventName);
            timestamp[i] = row.EventTimestamp;
            session[i] = row.GaSessionId;
            bundle[i] = row.EventBundleSequenceId;
            for (var f = 0; f < (categorical?.Length ?? 0); f++)
                categorical![f][i] = strings.Number(row.Signals?.Categorical[f]);
            for (var f = 0; f < (numeric?.Length ?? 0); f++)
                numeric![f][i] = row.Signals?.Numeric[f] is { } value ? (float)value : float.NaN;
        }
        var firstRowNumber = rows.Count == 0 ? 1 : rows[0].RowNumber;
        return new SourceBatch(source, firstRowNumber, strings.ToArray(), user, name, timestamp, session, bundle)
        {
            SignalCategorical = categorical,
            SignalNumeric = numeric,
        };
    }
}
