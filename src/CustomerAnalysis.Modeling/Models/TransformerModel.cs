using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

/// <summary>
/// Embedding × √size (+ a projection of the log time gap, optionally) + sinusoidal positions → encoder layers with
/// key-padding masks that return their per-head attention → pooling by the last real event (as the original) or the
/// mean of the real events → output head. Batch-first throughout.
/// </summary>
public sealed class TransformerModel : SequenceModel
{
    private readonly Embedding embedding;
    private readonly Linear? gapProjection;
    private readonly Tensor positions;
    private readonly SeededDropout dropout;
    private readonly ModuleList<EncoderLayer> encoders;
    private readonly OutputHead head;
    private readonly TransformerInitParams _settings;
    private readonly Scalar _scale; // a field, not a number at the call: see TorchScalars

    private readonly SignalEmbedding? signals;
    private readonly AggregateScaler? wide;

    /// <param name="signalEncoding">With it, the signals' embedding is added to each event's (<c>use_signals</c>).</param>
    public TransformerModel(TransformerInitParams settings, PredictionTask task, int vocabularySize, SignalEncoding? signalEncoding = null)
        : base(nameof(TransformerModel), task, vocabularySize)
    {
        _settings = settings;
        _scale = Math.Sqrt(settings.ModelSize).ToScalar();
        embedding = nn.Embedding(vocabularySize, settings.ModelSize, padding_idx: Vocabulary.Pad);
        if (settings.UseTimeGaps) gapProjection = nn.Linear(1, settings.ModelSize);
        positions = SinusoidalPositions(settings.MaxSequenceLength, settings.ModelSize);
        dropout = new SeededDropout(settings.DropoutRate);
        encoders = new ModuleList<EncoderLayer>();
        for (var i = 0; i < settings.NumLayers; i++)
            encoders.Add(new EncoderLayer(settings.ModelSize, settings.NumHeads, settings.DimFeedforward, settings.DropoutRate));
        // A wide part widens the head's input; built before the head, it draws no random numbers.
        if (settings.AggregateFeatures == AggregateFeatures.Trees)
            Aggregates = wide = new AggregateScaler(task, vocabularySize, settings.UseTimeGaps, signalEncoding);
        head = new OutputHead(settings.ModelSize + (wide?.Width ?? 0), task, vocabularySize);
        // Built last, so that a names-only model draws exactly the initial weights it always did.
        if (signalEncoding is not null)
        {
            signals = new SignalEmbedding(signalEncoding, settings.ModelSize, 0.1);
            Signals = signalEncoding;
        }
        RegisterComponents();

        var (low, high) = settings.WeightsInitRange;
        using (torch.no_grad())
        {
            embedding.weight!.uniform_(low, high);
            embedding.weight[Vocabulary.Pad].zero_();
            head.Linear.weight!.uniform_(low, high);
            head.Linear.bias!.zero_();
        }
    }

    public override ModelOutput Forward(Tensor tokens, Tensor logGaps, Tensor mask, Tensor lengths, SignalTensors? signalInputs = null,
        Tensor? aggregates = null)
    {
        var steps = tokens.shape[1];
        var x = embedding.forward(tokens).mul(_scale);
        if (signals is not null)
            x = x.Plus(signals.Forward(signalInputs ?? throw new ArgumentException("This model uses signals; the batch has none.", nameof(signalInputs)), steps));
        if (gapProjection is not null) x = x.Plus(gapProjection.forward(logGaps.unsqueeze(-1)));
        x = dropout.forward(x.Plus(positions.narrow(0, 0, steps)));

        var padding = mask.logical_not();
        var layerWeights = new List<Tensor>();
        foreach (var encoder in encoders)
        {
            (x, var weights) = encoder.Encode(x, padding);
            layerWeights.Add(weights);
        }

        Tensor pooled, attention; // attention: [batch, heads, steps] from the last layer, as seen by the pooled output.
        var last = layerWeights[^1];
        if (_settings.Pooling == "mean")
        {
            var realRows = mask.to(x.dtype);
            var count = lengths.to(x.dtype).view(-1, 1);
            pooled = (x * realRows.unsqueeze(-1)).sum(1) / count;
            attention = (last * realRows.view(realRows.shape[0], 1, -1, 1)).sum(2) / count.view(-1, 1, 1);
        }
        else
        {
            pooled = LastRealStep(x, lengths);
            var heads = last.shape[1];
            var row = lengths.sub(TorchScalars.One).view(-1, 1, 1, 1).expand(-1, heads, 1, steps);
            attention = last.gather(2, row).squeeze(2);
        }
        return new ModelOutput(head.forward(HeadInput(pooled, aggregates)), attention.transpose(0, 1), torch.stack(layerWeights));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _scale.Dispose();
        base.Dispose(disposing);
    }

    private static Tensor SinusoidalPositions(int length, int size)
    {
        var table = new float[length * size];
        for (var position = 0; position < length; position++)
            for (var i = 0; i < size; i += 2)
            {
                var angle = position * Math.Exp(-Math.Log(10000.0) * i / size);
                table[position * size + i] = (float)Math.Sin(angle);
                table[position * size + i + 1] = (float)Math.Cos(angle);
            }
        return torch.tensor(table, [length, size]);
    }
}

/// <summary>
/// A post-norm transformer encoder layer (as PyTorch's) that also returns its attention weights per head.
/// Written here because TorchSharp's layer returns no weights and is sequence-first.
/// </summary>
internal sealed class EncoderLayer : nn.Module
{
    private readonly Linear queryKeyValue;
    private readonly Linear output;
    private readonly Linear feedforwardIn;
    private readonly Linear feedforwardOut;
    private readonly LayerNorm attentionNorm;
    private readonly LayerNorm feedforwardNorm;
    private readonly SeededDropout dropout;
    private readonly int _heads;
    private readonly int _headSize;
    private readonly Scalar _scoreScale;

    public EncoderLayer(int modelSize, int heads, int feedforwardSize, double dropoutRate) : base(nameof(EncoderLayer))
    {
        _heads = heads;
        _headSize = modelSize / heads;
        _scoreScale = Math.Sqrt(_headSize).ToScalar();
        queryKeyValue = nn.Linear(modelSize, 3 * modelSize);
        output = nn.Linear(modelSize, modelSize);
        feedforwardIn = nn.Linear(modelSize, feedforwardSize);
        feedforwardOut = nn.Linear(feedforwardSize, modelSize);
        attentionNorm = nn.LayerNorm(modelSize);
        feedforwardNorm = nn.LayerNorm(modelSize);
        dropout = new SeededDropout(dropoutRate);
        RegisterComponents();
    }

    /// <param name="x">[batch, steps, size].</param>
    /// <param name="padding">[batch, steps] bool, true on padding (those keys get weight 0).</param>
    /// <returns>The new states and the attention weights [batch, heads, steps, steps].</returns>
    public (Tensor States, Tensor Weights) Encode(Tensor x, Tensor padding)
    {
        var (batch, steps, size) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = queryKeyValue.forward(x).view(batch, steps, 3, _heads, _headSize).permute(2, 0, 3, 1, 4);
        var (query, key, value) = (qkv[0], qkv[1], qkv[2]); // [batch, heads, steps, headSize]
        var scores = query.matmul(key.transpose(-2, -1)).div(_scoreScale);
        scores = scores.masked_fill(padding.view(batch, 1, 1, steps), TorchScalars.NegativeInfinity);
        var weights = scores.softmax(-1);
        var attended = dropout.forward(weights).matmul(value).transpose(1, 2).reshape(batch, steps, size);
        x = attentionNorm.forward(x.Plus(dropout.forward(output.forward(attended))));
        var feedforward = feedforwardOut.forward(dropout.forward(nn.functional.relu(feedforwardIn.forward(x))));
        x = feedforwardNorm.forward(x.Plus(dropout.forward(feedforward)));
        return (x, weights);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _scoreScale.Dispose();
        base.Dispose(disposing);
    }
}
