namespace CustomerAnalysis.Ingestion;

/// <summary>
/// Hands out one string instance per distinct text, looked up by span, so a column of repeated values
/// (user ids, event names) costs one allocation per distinct value instead of one per row.
/// Grows with the distinct values seen, which the event table keeps anyway.
/// </summary>
internal sealed class StringPool
{
    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public StringPool() => _bySpan = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Get(ReadOnlySpan<char> text)
    {
        if (_bySpan.TryGetValue(text, out var existing)) return existing;
        var created = text.ToString();
        _strings.Add(created);
        return created;
    }
}
