using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

/// <summary>
/// Embedding (padding index 0, optionally with the log time gap as one more feature) → stacked rnn/gru/lstm layers
/// (seeded dropout between them) → attention pooling over the real steps → output head.
/// Padding is masked, not packed: sequences are right-padded, so real steps never see padding.
/// </summary>
public sealed class RnnModel : SequenceModel
{
    private readonly Embedding embedding;
    private readonly ModuleList<nn.Module> layers;
    private readonly SeededDropout dropout;
    private readonly AttentionPooling pooling;
    private readonly OutputHead head;
    private readonly RnnInitParams _settings;
    private readonly SignalEmbedding? signals;
    private readonly AggregateScaler? wide;

    /// <param name="signalEncoding">With it, the signals' embedding is summed into each event's (<c>use_signals</c>).</param>
    public RnnModel(RnnInitParams settings, PredictionTask task, int vocabularySize, SignalEncoding? signalEncoding = null)
        : base(nameof(RnnModel), task, vocabularySize)
    {
        _settings = settings;
        embedding = nn.Embedding(vocabularySize, settings.EmbeddingSize, padding_idx: Vocabulary.Pad);
        layers = new ModuleList<nn.Module>();
        for (var layer = 0; layer < settings.NumLayers; layer++)
        {
            var inputSize = layer == 0 ? settings.EmbeddingSize + (settings.UseTimeGaps ? 1 : 0) + (settings.UseElapsedTime ? 2 : 0) : settings.HiddenSize;
            layers.Add(settings.CellType switch
            {
                "gru" => nn.GRU(inputSize, settings.HiddenSize, batchFirst: true),
                "lstm" => nn.LSTM(inputSize, settings.HiddenSize, batchFirst: true),
                _ => nn.RNN(inputSize, settings.HiddenSize, nonLinearity: settings.Nonlinearity == "relu" ? nn.NonLinearities.ReLU : nn.NonLinearities.Tanh, batchFirst: true),
            });
        }
        dropout = new SeededDropout(settings.DropoutRate);
        pooling = new AttentionPooling(settings.AttentionType, settings.HiddenSize, settings.NumHeads, settings.AttentionSize);
        // A wide part widens the head's input; built before the head, it draws no random numbers.
        if (settings.AggregateFeatures == AggregateFeatures.Trees)
            Aggregates = wide = new AggregateScaler(task, vocabularySize, settings.UseTimeGaps, signalEncoding);
        head = new OutputHead(settings.HiddenSize + (wide?.Width ?? 0), task, vocabularySize);
        // Built last, so that a names-only model draws exactly the initial weights it always did.
        if (signalEncoding is not null)
        {
            // As large as the event embedding (N(0, 1)) in all, whatever the number of features.
            var features = signalEncoding.EventCategorical.Count + signalEncoding.UserCategorical.Count + 1;
            signals = new SignalEmbedding(signalEncoding, settings.EmbeddingSize, 1 / Math.Sqrt(features));
            Signals = signalEncoding;
        }
        RegisterComponents();
    }

    public override ModelOutput Forward(Tensor tokens, Tensor logGaps, Tensor mask, Tensor lengths, SignalTensors? signalInputs = null,
        Tensor? aggregates = null)
    {
        var states = embedding.forward(tokens);
        if (signals is not null)
            states = states.Plus(signals.Forward(signalInputs ?? throw new ArgumentException("This model uses signals; the batch has none.", nameof(signalInputs)),
                tokens.shape[1]));
        if (_settings.UseTimeGaps) states = torch.cat([states, logGaps.unsqueeze(-1)], -1);
        if (_settings.UseElapsedTime) states = torch.cat([states, LogElapsed(logGaps, lengths)], -1);
        for (var layer = 0; layer < layers.Count; layer++)
        {
            if (layer > 0) states = dropout.forward(states);
            states = layers[layer] switch
            {
                GRU gru => gru.forward(states, null).Item1,
                LSTM lstm => lstm.forward(states, null).Item1,
                RNN rnn => rnn.forward(states, null).Item1,
                var other => throw new InvalidOperationException($"Unexpected layer {other.GetType().Name}."),
            };
        }
        states = dropout.forward(states);
        var (pooled, attention) = pooling.Pool(states, mask, lengths);
        return new ModelOutput(head.forward(HeadInput(pooled, aggregates)), attention, null) { StepStates = states };
    }

    public override Tensor? StepLogits(Tensor stepStates)
    {
        if (Task != PredictionTask.Events) return null;
        var (rows, steps) = (stepStates.shape[0], stepStates.shape[1]);
        // A wide head reads the aggregates after the state: the steps use its state columns only.
        return head.ForwardLeading(stepStates.reshape(rows * steps, stepStates.shape[2])).view(rows, steps, -1);
    }

    /// <summary>[batch, steps, 2]: log(1 + seconds since the input's first event) and log(1 + seconds until its last
    /// event), from the batch's log(1 + gap): the gaps are undone, summed along each sequence and logged again. The
    /// first kept event's gap (to an event no longer in the input) is left out; padding after the last event
    /// repeats its values and is masked later. Where an event falls in the window: how long the user had stayed, and how long they stayed on
    /// after it (the last event's state sees the whole stay; the attention, which events came near the end).</summary>
    internal static Tensor LogElapsed(Tensor logGaps, Tensor lengths)
    {
        using var scope = NewDisposeScope();
        var gaps = logGaps.exp().sub(TorchScalars.One).clamp_min(0);
        var sinceFirst = gaps.cumsum(1).sub(gaps.narrow(1, 0, 1)).clamp_min(0);
        var total = sinceFirst.gather(1, lengths.sub(TorchScalars.One).unsqueeze(1).to(ScalarType.Int64));
        var untilLast = total.sub(sinceFirst).clamp_min(0);
        return torch.stack([sinceFirst.log1p(), untilLast.log1p()], -1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Turns [batch, steps, hidden] states into one [batch, hidden] vector per sequence, with the weight of each step.
/// <list type="bullet">
/// <item><c>global</c>: a learned linear score per step.</item>
/// <item><c>self</c>: a learned context vector scoring tanh-projected states.</item>
/// <item><c>multi-head</c>: several <c>self</c> heads, each with its own projection and context; their pooled
/// vectors are averaged.</item>
/// <item><c>last</c>: the last real step (no attention; its weight is 1 there, 0 elsewhere).</item>
/// </list>
/// </summary>
internal sealed class AttentionPooling : nn.Module
{
    private readonly string _kind;
    private readonly int _heads;
    private readonly int _attentionSize;
    private readonly Linear? scorer;
    private readonly Linear? projection;
    private readonly Parameter? contexts;

    public AttentionPooling(string kind, int hiddenSize, int heads, int attentionSize) : base(nameof(AttentionPooling))
    {
        _kind = kind;
        _heads = kind == "multi-head" ? heads : 1;
        _attentionSize = attentionSize;
        switch (kind)
        {
            case "global":
                scorer = nn.Linear(hiddenSize, 1);
                break;
            case "self":
            case "multi-head":
                projection = nn.Linear(hiddenSize, _heads * attentionSize);
                contexts = nn.Parameter(torch.empty(_heads, attentionSize).uniform_(-0.1, 0.1));
                break;
            case "last":
                break;
            default:
                throw new ArgumentException($"Unknown attention type '{kind}'.", nameof(kind));
        }
        RegisterComponents();
    }

    /// <returns>Pooled [batch, hidden] and weights [heads, batch, steps].</returns>
    public (Tensor Pooled, Tensor Weights) Pool(Tensor states, Tensor mask, Tensor lengths)
    {
        var (batch, steps) = (states.shape[0], states.shape[1]);
        if (_kind == "last")
        {
            var weights = nn.functional.one_hot(lengths.sub(TorchScalars.One), steps).to(states.dtype).unsqueeze(0);
            return (SequenceModel.LastRealStep(states, lengths), weights);
        }

        Tensor scores; // [heads, batch, steps]
        if (scorer is not null)
        {
            scores = scorer.forward(states).squeeze(-1).unsqueeze(0);
        }
        else
        {
            var projected = projection!.forward(states).tanh().view(batch, steps, _heads, _attentionSize);
            scores = (projected * contexts!).sum(-1).permute(2, 0, 1);
        }
        var attention = SequenceModel.MaskedSoftmax(scores, mask.unsqueeze(0));
        // [batch, heads, steps] × [batch, steps, hidden] → [batch, heads, hidden], heads averaged.
        var pooled = attention.transpose(0, 1).bmm(states).mean([1]);
        return (pooled, attention);
    }
}
