using System.Text.Json.Serialization;

namespace CustomerAnalysis.Modeling.Attention;

/// <summary>One event of a sequence's key set.</summary>
public sealed record KeyEvent(
    [property: JsonPropertyName("position")] int Position,
    [property: JsonPropertyName("event_name")] string EventName,
    [property: JsonPropertyName("weight")] float Weight);

/// <summary>
/// A sequence's key set: its most-attended events, heaviest first, just enough for their cumulative weight to reach
/// the threshold. If all weights together stay below it (unnormalized or masked weights), every event is in the set
/// and <see cref="PassesThreshold"/> is false.
/// </summary>
public sealed record SequenceAttentionFocus(
    [property: JsonPropertyName("batch_index")] int BatchIndex,
    [property: JsonPropertyName("sequence_index")] int SequenceIndex,
    [property: JsonPropertyName("sequence_length")] int SequenceLength,
    [property: JsonPropertyName("key_events")] IReadOnlyList<KeyEvent> KeyEvents,
    [property: JsonPropertyName("cumulative_weight")] double CumulativeWeight,
    [property: JsonPropertyName("passes_threshold")] bool PassesThreshold);

/// <summary>The analysis over a whole export.</summary>
/// <param name="KeyEventCounts">Event name → how many key sets hold it, most frequent first.</param>
public sealed record CumulativeAttentionReport(
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("sequences")] IReadOnlyList<SequenceAttentionFocus> Sequences,
    [property: JsonPropertyName("sequences_passing")] int SequencesPassing,
    [property: JsonPropertyName("mean_key_events")] double MeanKeyEvents,
    [property: JsonPropertyName("key_event_counts")] IReadOnlyDictionary<string, int> KeyEventCounts);

/// <summary>
/// The original project's "which events carry the attention" analysis: per sequence, the smallest set of
/// top-attended events whose weights add up to at least the threshold (e.g. 0.8), and how often each event name is in
/// such a set. A small set means the model focused on few events.
/// </summary>
public static class CumulativeAttentionAnalysis
{
    public static CumulativeAttentionReport Analyze(AttentionExport export, double threshold)
    {
        if (!(threshold > 0 && threshold <= 1))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The cumulative attention threshold must be in (0, 1].");

        var sequences = new List<SequenceAttentionFocus>();
        foreach (var batch in export.Heads)
        {
            if (batch.AttentionWeights.Count != batch.BatchInputs.Count)
                throw new ArgumentException(
                    $"Batch {batch.BatchIndex} has {batch.BatchInputs.Count} input rows but {batch.AttentionWeights.Count} weight rows.", nameof(export));
            for (var s = 0; s < batch.BatchInputs.Count; s++)
                sequences.Add(Focus(batch.BatchIndex, s, batch.BatchInputs[s], batch.AttentionWeights[s], threshold));
        }

        var keyEventCounts = sequences
            .SelectMany(sequence => sequence.KeyEvents.Select(e => e.EventName).Distinct())
            .GroupBy(name => name)
            .OrderByDescending(group => group.Count())
            .ThenBy(group => group.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Count());
        return new CumulativeAttentionReport(
            threshold,
            sequences,
            sequences.Count(s => s.PassesThreshold),
            sequences.Count == 0 ? 0 : sequences.Average(s => s.KeyEvents.Count),
            keyEventCounts);
    }

    private static SequenceAttentionFocus Focus(
        int batchIndex, int sequenceIndex, IReadOnlyList<string> names, float[] weights, double threshold)
    {
        if (names.Count != weights.Length)
            throw new ArgumentException(
                $"Batch {batchIndex}, sequence {sequenceIndex}: {names.Count} events but {weights.Length} weights.", nameof(weights));

        // Heaviest first; equal weights keep the earlier position first so the result is deterministic.
        var byWeight = Enumerable.Range(0, weights.Length).OrderByDescending(p => weights[p]).ThenBy(p => p);
        var keyEvents = new List<KeyEvent>();
        double cumulative = 0;
        foreach (var position in byWeight)
        {
            keyEvents.Add(new KeyEvent(position, names[position], weights[position]));
            cumulative += weights[position];
            if (Reaches(cumulative, threshold)) break;
        }
        return new SequenceAttentionFocus(
            batchIndex, sequenceIndex, names.Count, keyEvents, cumulative, Reaches(cumulative, threshold));
    }

    /// <summary>Float weights rarely add up exactly (0.7f is 0.69999999); within 1e-6 of the threshold counts.</summary>
    private static bool Reaches(double cumulative, double threshold) => cumulative >= threshold - 1e-6;
}
