using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;

namespace CustomerAnalysis.Modeling.Prediction;

/// <summary>One session to score: its event names in order and, for models trained with time gaps, the seconds
/// from each event to the previous one (0 for the first); <paramref name="Signals"/>: per event its raw GA4 signal
/// values (null: all missing), used by a model trained with them (<c>use_signals</c>) and ignored by others.</summary>
public sealed record SessionInput(IReadOnlyList<string> Events, IReadOnlyList<double>? GapSeconds = null,
    IReadOnlyList<EventSignalValues?>? Signals = null);

/// <summary>The prediction for one session.</summary>
/// <param name="TopEvents">Events task: the most likely next events, most likely first; churn: empty.</param>
/// <param name="ChurnProbability">Churn task (when <c>return_churn_prob</c>): the probability; otherwise null.</param>
/// <param name="Churns">Churn task: probability ≥ <c>prob_threshold</c>; otherwise null.</param>
/// <param name="Attention">One weight per input event (heads averaged), 0 for events cut off by the length limit.</param>
/// <param name="AttentionByHead">[heads][input events], aligned like <paramref name="Attention"/>.</param>
public sealed record SessionPrediction(
    IReadOnlyList<EventProbability> TopEvents,
    double? ChurnProbability,
    bool? Churns,
    IReadOnlyList<double> Attention,
    IReadOnlyList<IReadOnlyList<double>> AttentionByHead);

/// <summary>
/// Serves a trained model: raw event names in, predictions with attention out. Unknown names are read as
/// <c>&lt;UNK&gt;</c>; inputs longer than the model's limit keep their last events. A signals model encodes each
/// session's raw signals with the checkpoint's training encoding (<see cref="SignalInputs"/>; missing values are
/// <c>&lt;MISSING&gt;</c>, as in preparation). Runs torch on one thread per call
/// (serving scales by requests, not by intra-op threads); calls are serialised.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly Lock _lock = new();
    /// <summary>Where the weights live, read once: looking it up per call walks the parameters.</summary>
    private readonly torch.Device _device;

    public Predictor(ModelCheckpoint checkpoint)
    {
        Checkpoint = checkpoint;
        // Serving only ever infers: inference mode (dropout off) is set once here, not per call.
        checkpoint.Model.eval();
        _device = checkpoint.Model.parameters().First().device;
    }

    public ModelCheckpoint Checkpoint { get; }

    public static Predictor Load(Stream checkpoint) => new(ModelCheckpoint.Read(checkpoint));

    public IReadOnlyList<SessionPrediction> Predict(IReadOnlyList<IReadOnlyList<string>> sessions, int top) =>
        Predict(sessions.Select(s => new SessionInput(s)).ToArray(), top);

    public IReadOnlyList<SessionPrediction> Predict(IReadOnlyList<SessionInput> sessions, int top)
    {
        if (sessions.Count == 0) return [];
        if (top < 1) throw new InvalidInputException($"top must be at least 1, not {top}.");
        var signalEncoding = Checkpoint.Model.Signals;
        var useGaps = Checkpoint.Config.Init.UseTimeGaps;
        for (var s = 0; s < sessions.Count; s++)
        {
            if (sessions[s].Events.Count == 0) throw new InvalidInputException($"Session {s} has no events.");
            if (useGaps && sessions[s].GapSeconds is null)
                throw new InvalidInputException($"Session {s} has no gap seconds; this model was trained with use_time_gaps.");
            if (sessions[s].GapSeconds is { } gaps && gaps.Count != sessions[s].Events.Count)
                throw new InvalidInputException($"Session {s} has {sessions[s].Events.Count} events but {gaps.Count} gap seconds.");
            if (sessions[s].Signals is { } rows && rows.Count != sessions[s].Events.Count)
                throw new InvalidInputException($"Session {s} has {sessions[s].Events.Count} events but {rows.Count} signal rows.");
        }

        var vocabulary = Checkpoint.Vocabulary;
        var tokens = sessions.Select(s => (IReadOnlyList<int>)s.Events.Select(vocabulary.Encode).ToArray()).ToArray();
        var gapSeconds = useGaps ? sessions.Select(s => (IReadOnlyList<float>)s.GapSeconds!.Select(g => (float)g).ToArray()).ToArray() : null;

        lock (_lock)
        {
            torch.set_num_threads(1);
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var model = Checkpoint.Model;
            var encodedSignals = signalEncoding is null ? null
                : sessions.Select(s => SignalInputs.Encode(signalEncoding, s.Signals, s.Events.Count)).ToArray();
            // A model blended with trees: the trees score the whole input (as in evaluation), then the blend.
            var (batch, trees) = Checkpoint.ServingInputs(tokens, gapSeconds, encodedSignals, _device);
            var output = model.Forward(batch);
            var steps = (int)batch.Tokens.shape[1];
            var heads = (int)output.Attention.shape[0];
            var attention = output.Attention.cpu().data<float>().ToArray(); // [heads, batch, steps]
            var predictions = new SessionPrediction[sessions.Count];

            if (model.Task == PredictionTask.Events)
            {
                var k = Math.Min(top, vocabulary.Count - 1); // <PAD> is never a candidate
                var distribution = output.Logits.softmax(-1);
                var (values, indices) = Checkpoint.ServedDistribution(distribution, trees).topk(k, dim: -1);
                var probabilities = values.cpu().data<float>().ToArray();
                var ids = indices.cpu().data<long>().ToArray();
                for (var b = 0; b < sessions.Count; b++)
                {
                    var topEvents = Enumerable.Range(0, k)
                        .Select(j => new EventProbability(vocabulary.Decode((int)ids[b * k + j]), probabilities[b * k + j])).ToArray();
                    predictions[b] = WithAttention(b, topEvents, null, null);
                }
            }
            else
            {
                var raw = output.Logits.sigmoid().cpu().data<float>().ToArray();
                var pipeline = Checkpoint.Config.Pipeline;
                for (var b = 0; b < sessions.Count; b++)
                {
                    // The calibrated probability (validation-fitted Platt scaling), as the test metrics report it.
                    var churn = Checkpoint.ServedChurn(raw[b], trees, b);
                    predictions[b] = WithAttention(b, [], pipeline.ReturnChurnProb ? churn : null, churn >= pipeline.ProbThreshold);
                }
            }
            return predictions;

            SessionPrediction WithAttention(int b, EventProbability[] topEvents, double? churnProbability, bool? churns)
            {
                var inputLength = sessions[b].Events.Count;
                var keptFrom = batch.KeptFrom[b];
                var byHead = new double[heads][];
                for (var h = 0; h < heads; h++)
                {
                    byHead[h] = new double[inputLength];
                    for (var t = keptFrom; t < inputLength; t++) byHead[h][t] = attention[(h * sessions.Count + b) * steps + (t - keptFrom)];
                }
                var mean = Enumerable.Range(0, inputLength).Select(t => byHead.Average(row => row[t])).ToArray();
                return new SessionPrediction(topEvents, churnProbability, churns, mean, byHead);
            }
        }
    }

    public void Dispose() => Checkpoint.Model.Dispose();
}
