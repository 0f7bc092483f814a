namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// Event names as model tokens: <c>&lt;PAD&gt;</c> = 0, <c>&lt;UNK&gt;</c> = 1, then names by descending
/// frequency in the training split (ties by name, ordinal). Names never seen in training map to <see cref="Unk"/>.
/// </summary>
public sealed class Vocabulary
{
    public const int Pad = 0;
    public const int Unk = 1;
    public const string PadToken = "<PAD>";
    public const string UnkToken = "<UNK>";

    private readonly Dictionary<string, int> _ids;

    /// <param name="tokens">All tokens in id order, starting with <c>&lt;PAD&gt;</c> and <c>&lt;UNK&gt;</c>.</param>
    public Vocabulary(IReadOnlyList<string> tokens)
    {
        if (tokens.Count < 2 || tokens[Pad] != PadToken || tokens[Unk] != UnkToken)
            throw new ArgumentException($"A vocabulary starts with {PadToken} and {UnkToken}.", nameof(tokens));
        Tokens = tokens.ToArray();
        _ids = new Dictionary<string, int>(Tokens.Count, StringComparer.Ordinal);
        for (var i = 0; i < Tokens.Count; i++)
            if (!_ids.TryAdd(Tokens[i], i))
                throw new ArgumentException($"Token '{Tokens[i]}' appears twice.", nameof(tokens));
    }

    /// <summary>Builds the vocabulary from event-name counts (of the training split).</summary>
    public static Vocabulary FromCounts(IEnumerable<KeyValuePair<string, long>> counts) =>
        new([PadToken, UnkToken, .. counts
            .OrderByDescending(c => c.Value)
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => c.Key)]);

    public IReadOnlyList<string> Tokens { get; }

    public int Count => Tokens.Count;

    public int Encode(string eventName) => _ids.GetValueOrDefault(eventName, Unk);

    public string Decode(int token) => Tokens[token];
}
