using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Modeling.Attention;

/// <summary>
/// Collects a phase's batches straight from the model's padded arrays (e.g. <c>tensor.data&lt;long&gt;().ToArray()</c>)
/// and turns them into an <see cref="AttentionExport"/>. Padding positions (token <see cref="Vocabulary.Pad"/>) are
/// dropped from both the names and the weights, wherever they sit in the row.
/// </summary>
public sealed class AttentionExportBuilder
{
    private readonly string _phase;
    private readonly string _attentionType;
    private readonly IReadOnlyList<string> _tokenNames;
    private readonly List<AttentionBatch> _batches = [];

    /// <param name="phase"><c>train</c>, <c>val</c> or <c>test</c>.</param>
    /// <param name="attentionType">The model's attention (free text, e.g. <c>additive</c>, <c>multihead</c>).</param>
    /// <param name="tokenNames">Name of each token id (the vocabulary's tokens).</param>
    public AttentionExportBuilder(string phase, string attentionType, IReadOnlyList<string> tokenNames)
    {
        if (!AttentionExport.Phases.Contains(phase))
            throw new ArgumentException($"Phase '{phase}' is not one of {string.Join(", ", AttentionExport.Phases)}.", nameof(phase));
        _phase = phase;
        _attentionType = attentionType;
        _tokenNames = tokenNames;
    }

    /// <summary>Adds one batch.</summary>
    /// <param name="paddedTokens">Row-major [sequence × position] token ids.</param>
    /// <param name="attentionWeights">Row-major [sequence × position] weights, same shape (average heads first).</param>
    /// <param name="predictions">One readable prediction per sequence (an event name, or e.g. <c>churned</c>).</param>
    public void AddBatch(int batchIndex, long[] paddedTokens, float[] attentionWeights, IReadOnlyList<string> predictions)
    {
        var sequenceCount = predictions.Count;
        if (sequenceCount == 0 || paddedTokens.Length % sequenceCount != 0)
            throw new ArgumentException(
                $"{paddedTokens.Length} tokens do not split into {sequenceCount} equal rows (one per prediction).", nameof(paddedTokens));
        if (attentionWeights.Length != paddedTokens.Length)
            throw new ArgumentException(
                $"{attentionWeights.Length} attention weights for {paddedTokens.Length} tokens: shapes must match.", nameof(attentionWeights));

        var length = paddedTokens.Length / sequenceCount;
        var inputs = new List<IReadOnlyList<string>>(sequenceCount);
        var weights = new List<float[]>(sequenceCount);
        for (var s = 0; s < sequenceCount; s++)
        {
            var names = new List<string>();
            var rowWeights = new List<float>();
            for (var p = s * length; p < (s + 1) * length; p++)
            {
                if (paddedTokens[p] == Vocabulary.Pad) continue;
                if ((ulong)paddedTokens[p] >= (ulong)_tokenNames.Count)
                    throw new ArgumentException($"Token {paddedTokens[p]} is outside the {_tokenNames.Count} token names.", nameof(paddedTokens));
                names.Add(_tokenNames[(int)paddedTokens[p]]);
                rowWeights.Add(attentionWeights[p]);
            }
            inputs.Add(names);
            weights.Add([.. rowWeights]);
        }
        _batches.Add(new AttentionBatch(batchIndex, inputs, weights, predictions.ToArray()));
    }

    public AttentionExport Build() => new(_phase, _attentionType, _batches.ToArray());
}
