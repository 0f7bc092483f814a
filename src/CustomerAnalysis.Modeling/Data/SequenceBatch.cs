using CustomerAnalysis.Core.Preparation;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Data;

/// <summary>
/// One padded batch as tensors, right-padded with <see cref="Vocabulary.Pad"/> to the batch's longest sequence.
/// Create it inside a dispose scope: the tensors are freed with the scope.
/// </summary>
public sealed class SequenceBatch
{
    private SequenceBatch(Tensor tokens, Tensor logGaps, Tensor mask, Tensor lengths, int[] keptFrom, SignalTensors? signals = null,
        Tensor? aggregates = null)
    {
        Signals = signals;
        Aggregates = aggregates;
        Tokens = tokens;
        LogGaps = logGaps;
        Mask = mask;
        Lengths = lengths;
        KeptFrom = keptFrom;
    }

    /// <summary>[batch, steps] int64 token ids, 0 on padding.</summary>
    public Tensor Tokens { get; }
    /// <summary>[batch, steps] float32 log(1 + seconds since the previous event), 0 on padding.</summary>
    public Tensor LogGaps { get; }
    /// <summary>[batch, steps] bool, true on real events.</summary>
    public Tensor Mask { get; }
    /// <summary>[batch] int64 number of real events.</summary>
    public Tensor Lengths { get; }
    /// <summary>Per sequence: the index of its first kept event (inputs longer than the limit keep their last events).</summary>
    public int[] KeptFrom { get; }
    /// <summary>The examples' signals as tensors (only when asked for: a model that uses them).</summary>
    public SignalTensors? Signals { get; }
    /// <summary>[batch, width] float32 raw per-example aggregates (only for a model with a wide part,
    /// <see cref="Models.SequenceModel.Aggregates"/>).</summary>
    public Tensor? Aggregates { get; }

    /// <param name="tokens">Per sequence its token ids (at least one each).</param>
    /// <param name="gapSeconds">Per sequence its gaps, aligned with tokens; null = all zero.</param>
    /// <param name="maxLength">Longer sequences keep their last <paramref name="maxLength"/> events.</param>
    public static SequenceBatch Create(IReadOnlyList<IReadOnlyList<int>> tokens, IReadOnlyList<IReadOnlyList<float>>? gapSeconds,
        int maxLength, Device device)
    {
        var batch = tokens.Count;
        var keptFrom = new int[batch];
        var steps = 1;
        for (var b = 0; b < batch; b++)
        {
            if (tokens[b].Count == 0) throw new ArgumentException($"Sequence {b} of the batch is empty.", nameof(tokens));
            keptFrom[b] = Math.Max(0, tokens[b].Count - maxLength);
            steps = Math.Max(steps, tokens[b].Count - keptFrom[b]);
        }

        var tokenData = new long[batch * steps];
        var gapData = new float[batch * steps];
        var maskData = new bool[batch * steps];
        var lengthData = new long[batch];
        for (var b = 0; b < batch; b++)
        {
            var length = tokens[b].Count - keptFrom[b];
            lengthData[b] = length;
            for (var t = 0; t < length; t++)
            {
                var source = keptFrom[b] + t;
                tokenData[b * steps + t] = tokens[b][source];
                maskData[b * steps + t] = true;
                // The first kept event's gap is to an event that is no longer in the input: keep it anyway, it is real.
                if (gapSeconds is not null) gapData[b * steps + t] = MathF.Log(1 + MathF.Max(0, gapSeconds[b][source]));
            }
        }

        return new SequenceBatch(
            torch.tensor(tokenData, [batch, steps], ScalarType.Int64, device),
            torch.tensor(gapData, [batch, steps], ScalarType.Float32, device),
            torch.tensor(maskData, [batch, steps], ScalarType.Bool, device),
            torch.tensor(lengthData, [batch], ScalarType.Int64, device),
            keptFrom);
    }

    /// <summary>The batch of the given examples (by index).</summary>
    /// <param name="withSignals">Also the examples' signals (<see cref="SignalTensors"/>): for a model that uses them.</param>
    public static SequenceBatch FromExamples(IReadOnlyList<SequenceExample> examples, IReadOnlyList<int> indices, int maxLength, Device device,
        bool withSignals = false)
    {
        var batch = Create(indices.Select(i => (IReadOnlyList<int>)examples[i].Tokens).ToArray(),
            indices.Select(i => (IReadOnlyList<float>)examples[i].GapSeconds).ToArray(), maxLength, device);
        if (!withSignals) return batch;
        return batch.WithSignals(indices.Select(i => examples[i].Signals
            ?? throw new Core.InvalidInputException($"Example '{examples[i].Id}' has no signals, but the model uses them (use_signals).")).ToArray(),
            device);
    }

    /// <summary>This batch with the sequences' signals (aligned with their tokens, before the length limit), padded
    /// and cut like the tokens: what training, serving and batch scoring of a signals model all feed it.</summary>
    public SequenceBatch WithSignals(IReadOnlyList<ExampleSignals> signals, Device device) =>
        new(Tokens, LogGaps, Mask, Lengths, KeptFrom, SignalTensors.Create(signals, KeptFrom, (int)Tokens.shape[1], device), Aggregates);

    /// <summary>This batch with per-sequence aggregates [batch, width] (<see cref="Models.AggregateScaler.RowTensor"/>).</summary>
    public SequenceBatch WithAggregates(Tensor aggregates)
    {
        if (aggregates.ndim != 2 || aggregates.shape[0] != Tokens.shape[0])
            throw new ArgumentException($"Aggregates of shape [{string.Join(", ", aggregates.shape)}] for a batch of {Tokens.shape[0]}.", nameof(aggregates));
        return new(Tokens, LogGaps, Mask, Lengths, KeptFrom, Signals, aggregates);
    }
}

/// <summary>
/// A batch's signals, padded like its tokens: <see cref="Categorical"/> [batch, steps, event categorical features]
/// int64 (0 on padding), <see cref="Numeric"/> [batch, steps, 2 × numeric features] float32 (per feature the scaled
/// value, 0 when missing, then 1/0 present), <see cref="User"/> [batch, user features] int64.
/// </summary>
public sealed record SignalTensors(Tensor Categorical, Tensor Numeric, Tensor User)
{
    public static SignalTensors Create(IReadOnlyList<ExampleSignals> signals, int[] keptFrom, int steps, Device device)
    {
        var batch = signals.Count;
        var categoricalCount = signals.Count == 0 ? 0 : signals[0].Categorical.Length;
        var numericCount = signals.Count == 0 ? 0 : signals[0].Numeric.Length;
        var userCount = signals.Count == 0 ? 0 : signals[0].User.Length;
        var categorical = new long[batch * steps * categoricalCount];
        var numeric = new float[batch * steps * numericCount * 2];
        var user = new long[batch * userCount];
        for (var b = 0; b < batch; b++)
        {
            var example = signals[b];
            var length = example.Categorical.Length > 0 ? example.Categorical[0].Length : example.Numeric.Length > 0 ? example.Numeric[0].Length : 0;
            for (var t = 0; t < steps && keptFrom[b] + t < length; t++)
            {
                var source = keptFrom[b] + t;
                for (var f = 0; f < categoricalCount; f++) categorical[(b * steps + t) * categoricalCount + f] = example.Categorical[f][source];
                for (var f = 0; f < numericCount; f++)
                    if (example.Numeric[f][source] is { } value)
                    {
                        numeric[(b * steps + t) * numericCount * 2 + f] = value;
                        numeric[(b * steps + t) * numericCount * 2 + numericCount + f] = 1;
                    }
            }
            for (var f = 0; f < userCount; f++) user[b * userCount + f] = example.User[f];
        }
        return new SignalTensors(
            torch.tensor(categorical, [batch, steps, categoricalCount], ScalarType.Int64, device),
            torch.tensor(numeric, [batch, steps, numericCount * 2], ScalarType.Float32, device),
            torch.tensor(user, [batch, userCount], ScalarType.Int64, device));
    }
}
