using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

/// <summary>
/// What a model returns for a batch.
/// </summary>
/// <param name="Logits">Events: [batch, vocabulary] (the padding token's logit is -∞: never predicted).
/// Churn: [batch] (sigmoid → churn probability).</param>
/// <param name="Attention">[heads, batch, steps]: how much each input event weighs in the prediction; each row sums to 1
/// over the real events and is exactly 0 on padding.</param>
/// <param name="LayerAttention">Transformer only: [layers, batch, heads, steps (query), steps (key)], 0 on padded keys.</param>
public sealed record ModelOutput(Tensor Logits, Tensor Attention, Tensor? LayerAttention)
{
    /// <summary>RNN only: [batch, steps, hidden] the last layer's output at every step (after dropout), each seeing only
    /// its own and earlier events (causal; with use_elapsed_time also how long until the input's last event, a time,
    /// never a later event's name): what the trainer's auxiliary next-token objective predicts from. Null for
    /// models whose per-step states see later events (the transformer).</summary>
    public Tensor? StepStates { get; init; }

    /// <summary><see cref="EnsembleModel"/> only: each member's own output, in member order (the trainer's
    /// per-member losses); null for a single model.</summary>
    public IReadOnlyList<ModelOutput>? Members { get; init; }
}

/// <summary>
/// A sequence classifier: event tokens (right-padded, with a mask) in, logits and attention out. Forward only; the
/// training loop lives in <see cref="Training.Trainer"/>.
/// </summary>
public abstract class SequenceModel : nn.Module
{
    protected SequenceModel(string name, PredictionTask task, int vocabularySize) : base(name)
    {
        Task = task;
        VocabularySize = vocabularySize;
    }

    public PredictionTask Task { get; }
    public int VocabularySize { get; }

    /// <summary>The signal encoding the model was built for (<c>use_signals</c>); null for a names-only model.</summary>
    public SignalEncoding? Signals { get; protected init; }

    /// <summary>The wide part (<c>aggregate_features: "trees"</c>): the per-example aggregates its head also reads;
    /// null for a sequence-only model. Batches for this model carry <see cref="SequenceBatch.Aggregates"/>.</summary>
    public AggregateScaler? Aggregates { get; protected init; }

    /// <summary>Fits the wide part's standardization to the training split (nothing without one).</summary>
    public virtual void FitAggregates(IReadOnlyList<SequenceExample> train) => Aggregates?.Fit(train);

    /// <param name="tokens">[batch, steps] int64, <see cref="Vocabulary.Pad"/> on padding.</param>
    /// <param name="logGaps">[batch, steps] float32 log(1 + seconds since the previous event).</param>
    /// <param name="mask">[batch, steps] bool, true on real events; every row has at least one.</param>
    /// <param name="lengths">[batch] int64 real events per row (the real events come first).</param>
    /// <param name="signalInputs">The batch's signals: required when <see cref="Signals"/> is set, ignored otherwise.</param>
    /// <param name="aggregates">[batch, width] raw aggregates (<see cref="AggregateScaler.RowTensor"/>): required when
    /// <see cref="Aggregates"/> is set, ignored otherwise.</param>
    public abstract ModelOutput Forward(Tensor tokens, Tensor logGaps, Tensor mask, Tensor lengths, SignalTensors? signalInputs = null,
        Tensor? aggregates = null);

    public ModelOutput Forward(SequenceBatch batch) =>
        Forward(batch.Tokens, batch.LogGaps, batch.Mask, batch.Lengths, batch.Signals, batch.Aggregates);

    /// <summary>The batch of <paramref name="examples"/> (by index) with everything this model reads: signals when it
    /// uses them, aggregates when it has a wide part. What training, evaluation and attention collection feed it.</summary>
    public SequenceBatch BatchOf(IReadOnlyList<SequenceExample> examples, IReadOnlyList<int> indices, int maxLength, Device device)
    {
        var batch = SequenceBatch.FromExamples(examples, indices, maxLength, device, Signals is not null);
        return Aggregates is { } aggregates ? batch.WithAggregates(aggregates.RowTensor(examples, indices, device)) : batch;
    }

    /// <summary>The pooled state [batch, hidden], followed by the standardized aggregates when the model has a wide part.</summary>
    private protected Tensor HeadInput(Tensor pooled, Tensor? aggregates)
    {
        if (Aggregates is null) return pooled;
        if (aggregates is null) throw new ArgumentException("This model reads aggregates (aggregate_features); the batch has none.", nameof(aggregates));
        return torch.cat([pooled, Aggregates.Forward(aggregates)], 1);
    }

    /// <summary>Next event: logits [batch, steps, vocabulary] of the event after each step, from
    /// <see cref="ModelOutput.StepStates"/> through the model's own output head (a language model's per-step
    /// prediction); null when the model cannot (churn's head has one logit; models without causal step states).</summary>
    public virtual Tensor? StepLogits(Tensor stepStates) => null;

    /// <summary>Makes every dropout of this model draw from <paramref name="generator"/> (a per-trial seed, safe
    /// when trials run in parallel); null = torch's shared default generator.</summary>
    public void UseGenerator(Generator? generator)
    {
        foreach (var dropout in modules().OfType<SeededDropout>()) dropout.Generator = generator;
    }

    /// <summary>Softmax over the steps with padded steps forced to exactly 0. <paramref name="scores"/>: [..., batch, steps].</summary>
    internal static Tensor MaskedSoftmax(Tensor scores, Tensor mask) =>
        scores.masked_fill(mask.logical_not(), TorchScalars.NegativeInfinity).softmax(-1);

    /// <summary>Row b of <paramref name="states"/> [batch, steps, size] at step lengths[b]-1: the last real event.</summary>
    internal static Tensor LastRealStep(Tensor states, Tensor lengths)
    {
        var index = lengths.sub(TorchScalars.One).view(-1, 1, 1).expand(-1, 1, states.shape[2]);
        return states.gather(1, index).squeeze(1);
    }
}

/// <summary>
/// The signals as one vector per step, added to the event embedding: a learned embedding per categorical feature
/// (padding index 0) summed, the numeric values and presence flags through one linear layer, and the user features'
/// embeddings summed and added to every step.
/// </summary>
internal sealed class SignalEmbedding : nn.Module
{
    private readonly ModuleList<Embedding> events;
    private readonly ModuleList<Embedding> users;
    private readonly Linear? numeric;

    public SignalEmbedding(SignalEncoding encoding, int size, double initStd) : base(nameof(SignalEmbedding))
    {
        events = new ModuleList<Embedding>();
        users = new ModuleList<Embedding>();
        foreach (var feature in encoding.EventCategorical)
            events.Add(nn.Embedding(SignalEncoding.VocabularySize(feature), size, padding_idx: SignalEncoding.Pad));
        foreach (var feature in encoding.UserCategorical)
            users.Add(nn.Embedding(SignalEncoding.VocabularySize(feature), size, padding_idx: SignalEncoding.Pad));
        if (encoding.EventNumeric.Count > 0) numeric = nn.Linear(encoding.EventNumeric.Count * 2, size);
        RegisterComponents();
        using (torch.no_grad())
        {
            foreach (var embedding in events.Concat(users))
            {
                embedding.weight!.normal_(0, initStd);
                embedding.weight[SignalEncoding.Pad].zero_();
            }
        }
    }

    /// <returns>[batch, steps, size].</returns>
    public Tensor Forward(SignalTensors signals, long steps)
    {
        Tensor? sum = null;
        Tensor Add(Tensor? total, Tensor term) => total is null ? term : total.Plus(term);
        for (var f = 0; f < events.Count; f++) sum = Add(sum, events[f].forward(signals.Categorical.select(2, f)));
        if (numeric is not null) sum = Add(sum, numeric.forward(signals.Numeric));
        for (var f = 0; f < users.Count; f++) sum = Add(sum, users[f].forward(signals.User.select(1, f)).unsqueeze(1).expand(-1, steps, -1));
        return sum ?? throw new InvalidOperationException("A signal embedding without features.");
    }
}

/// <summary>Dropout that can draw its mask from a given generator (torch's own dropout always uses the shared one).</summary>
internal sealed class SeededDropout(double probability) : nn.Module<Tensor, Tensor>("SeededDropout")
{
    // Fields, not numbers at the call: see TorchScalars.
    private readonly Scalar _probability = probability.ToScalar();
    private readonly Scalar _kept = (1 - probability).ToScalar();

    public Generator? Generator { get; set; }

    public override Tensor forward(Tensor input)
    {
        if (!training || probability == 0) return input;
        using var keep = torch.rand(input.shape, input.dtype, input.device, generator: Generator).ge_(_probability);
        return (input * keep).div_(_kept);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _probability.Dispose();
            _kept.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>The last layer: logits over the vocabulary (events) or one churn logit.</summary>
internal sealed class OutputHead : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.Linear linear;
    private readonly PredictionTask _task;

    public OutputHead(int inputSize, PredictionTask task, int vocabularySize) : base("OutputHead")
    {
        _task = task;
        linear = nn.Linear(inputSize, task == PredictionTask.Events ? vocabularySize : 1);
        RegisterComponents();
    }

    public TorchSharp.Modules.Linear Linear => linear;

    public override Tensor forward(Tensor pooled) => Finish(linear.forward(pooled));

    /// <summary>The head on an input of its first columns only (a wide-and-deep head's state part, the aggregates'
    /// columns left out): the auxiliary next-token loss's per-step logits.</summary>
    public Tensor ForwardLeading(Tensor input) =>
        Finish(input.shape[^1] == linear.weight!.shape[1] ? linear.forward(input)
            : nn.functional.linear(input, linear.weight!.narrow(1, 0, input.shape[^1]), linear.bias));

    private Tensor Finish(Tensor logits)
    {
        if (_task == PredictionTask.Churn) return logits.squeeze(-1);
        // <PAD> is never a valid next event.
        return logits.index_fill(1, torch.tensor(new long[] { Vocabulary.Pad }, device: logits.device), TorchScalars.NegativeInfinity);
    }
}
