using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

/// <summary>
/// A seed ensemble (<c>model_init_params.ensemble_size</c> above 1): members of the same architecture, initialised one
/// after the other from the same seeded generator (so each starts from different weights and draws different dropout
/// masks), trained together on the same batches (<see cref="Training.Trainer"/>: the sum of the members' losses), and
/// served as one model. Churn: the mean of the members' logits. Next event: the log of the mean of the members'
/// probabilities, so that its softmax is the members' averaged distribution (a mixture, which keeps the mass a member
/// alone gives to the right event; a mean of log-probabilities would let one confident member veto it).
/// The attention is the members' mean (rows still sum to 1 over the real events, 0 on padding). Everything else
/// (checkpoint, serving, batch scoring, evaluation) sees a <see cref="SequenceModel"/> whose state dict is the
/// members' under <c>members.i.</c>.
/// </summary>
public sealed class EnsembleModel : SequenceModel
{
    // A finite stand-in for the members' -∞ padding logit while averaging: -∞ through logsumexp gives NaN gradients.
    private static readonly Scalar VeryNegative = (-1e9f).ToScalar();

    private readonly ModuleList<SequenceModel> members;
    private readonly Scalar _logCount;

    public EnsembleModel(IReadOnlyList<SequenceModel> members) : base(nameof(EnsembleModel), members[0].Task, members[0].VocabularySize)
    {
        if (members.Count < 2) throw new ArgumentException("An ensemble needs at least two members.", nameof(members));
        this.members = new ModuleList<SequenceModel>([.. members]);
        Signals = members[0].Signals;
        // The members' scalers are fitted together (FitAggregates) and read the same row layout: member 0's makes the rows.
        Aggregates = members[0].Aggregates;
        _logCount = Math.Log(members.Count).ToScalar();
        RegisterComponents();
    }

    public IReadOnlyList<SequenceModel> Members => [.. members];

    public override void FitAggregates(IReadOnlyList<SequenceExample> train)
    {
        foreach (var member in members) member.FitAggregates(train);
    }

    public override ModelOutput Forward(Tensor tokens, Tensor logGaps, Tensor mask, Tensor lengths, SignalTensors? signalInputs = null,
        Tensor? aggregates = null)
    {
        var outputs = members.Select(m => m.Forward(tokens, logGaps, mask, lengths, signalInputs, aggregates)).ToArray();
        var logits = torch.stack(outputs.Select(o => o.Logits));
        Tensor combined;
        if (Task == PredictionTask.Churn)
        {
            combined = logits.mean([0]);
        }
        else
        {
            using var pad = torch.tensor(new long[] { Vocabulary.Pad }, device: logits.device);
            combined = logits.index_fill(2, pad, VeryNegative).log_softmax(-1).logsumexp(0).sub(_logCount)
                .index_fill(1, pad, TorchScalars.NegativeInfinity);
        }
        var attention = torch.stack(outputs.Select(o => o.Attention)).mean([0]);
        var layerAttention = outputs.All(o => o.LayerAttention is not null)
            ? torch.stack(outputs.Select(o => o.LayerAttention!)).mean([0])
            : null;
        return new ModelOutput(combined, attention, layerAttention) { Members = outputs };
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _logCount.Dispose();
        base.Dispose(disposing);
    }
}
