using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;

namespace CustomerAnalysis.Serving.Scoring;

/// <summary>
/// Batch inference over a checkpoint: users sorted by input length and cut into batches of similar length (each
/// padded only to its own longest input, as the trainer's evaluation batches), on one torch intra-op thread (a
/// scoring worker scales by shards, not threads). Churn probabilities are calibrated with the checkpoint's Platt
/// scaling and labelled at its <c>prob_threshold</c>, exactly as the predict route serves them; attention is not
/// kept. A signals model scores the candidates' signals (read with them), encoded with the checkpoint's training
/// encoding as preparation encodes them. Not thread-safe: one scorer per worker.
/// </summary>
public sealed class CheckpointScorer : IDisposable
{
    /// <summary>Padded events per batch: batches of short inputs hold many users, long ones few.</summary>
    public const int EventsPerBatch = 32_768;
    public const int MaxBatchUsers = 1024;

    private readonly torch.Device _device;

    public CheckpointScorer(ModelCheckpoint checkpoint)
    {
        Checkpoint = checkpoint;
        checkpoint.Model.eval();
        _device = checkpoint.Model.parameters().First().device;
    }

    public ModelCheckpoint Checkpoint { get; }

    /// <summary>Scores <paramref name="members"/> (indexes into the shard's sequences), in that order.</summary>
    /// <param name="top">Next event: how many events to list per user.</param>
    /// <exception cref="InvalidInputException">The shard is of the other task than the model, top &lt; 1, or a signals
    /// model's candidates read without its signals.</exception>
    public IReadOnlyList<UserScore> Score(ScoringShard shard, IReadOnlyList<int> members, int top)
    {
        ArgumentNullException.ThrowIfNull(shard);
        if (shard.Task != Checkpoint.Task)
            throw new InvalidInputException(
                $"The model is a {PredictionTasks.Name(Checkpoint.Task)} model; the data was prepared for {PredictionTasks.Name(shard.Task)}.");
        if (top < 1) throw new InvalidInputException($"top must be at least 1, not {top}.");
        // A signals model scores the signals read with its candidates, encoded with its training encoding.
        var signalEncoding = Checkpoint.Model.Signals;
        if (signalEncoding is not null && (shard.SignalValues is null || !shard.Options.SignalSet.Equals(signalEncoding.Set)))
            throw new InvalidInputException(
                $"This model was trained with GA4 signals ({signalEncoding.Set}; use_signals), but the candidates carry " +
                $"{(shard.Options.SignalSet.IsEmpty ? "none" : shard.Options.SignalSet.ToString())}: score the export itself (it is read with the model's signals).");
        var vocabulary = Checkpoint.Vocabulary;
        // The shard's names mapped once to the model's tokens (unknown names read as <UNK>, as when serving).
        var tokenOfName = shard.EventNames.Select(vocabulary.Encode).ToArray();
        var maxLength = Checkpoint.Config.Init.MaxSequenceLength;
        var useGaps = Checkpoint.Config.Init.UseTimeGaps;
        var sequences = shard.Sequences;
        var lengths = members.Select(m => Math.Min(sequences[m].Names.Length, maxLength)).ToArray();
        var scores = new UserScore[members.Count];

        torch.set_num_threads(1);
        using var noGrad = torch.no_grad();
        foreach (var batch in LengthBuckets(lengths))
        {
            using var scope = torch.NewDisposeScope();
            var tokens = new IReadOnlyList<int>[batch.Length];
            var gaps = useGaps ? new IReadOnlyList<float>[batch.Length] : null;
            for (var b = 0; b < batch.Length; b++)
            {
                var sequence = sequences[members[batch[b]]];
                var encoded = new int[sequence.Names.Length];
                for (var i = 0; i < encoded.Length; i++) encoded[i] = tokenOfName[sequence.Names[i]];
                tokens[b] = encoded;
                if (gaps != null) gaps[b] = sequence.GapSeconds;
            }
            var encodedSignals = signalEncoding is null ? null : batch.Select(b => DatasetPreparer.EncodeSignals(signalEncoding,
                sequences[members[b]].Signals ?? throw new InvalidInputException(
                    $"User {sequences[members[b]].User} was read without signals, but the model uses them."),
                shard.SignalValues!)).ToArray();
            // A model blended with trees: the trees score each user's whole input, as the predictor and evaluation do.
            var (input, trees) = Checkpoint.ServingInputs(tokens, gaps, encodedSignals, _device);
            var output = Checkpoint.Model.Forward(input);
            if (Checkpoint.Task == PredictionTask.Churn)
            {
                var raw = output.Logits.sigmoid().cpu().data<float>().ToArray();
                var threshold = Checkpoint.Config.Pipeline.ProbThreshold;
                for (var b = 0; b < batch.Length; b++)
                {
                    var probability = Checkpoint.ServedChurn(raw[b], trees, b);
                    scores[batch[b]] = new UserScore(sequences[members[batch[b]]].User, probability, probability >= threshold, []);
                }
            }
            else
            {
                var k = Math.Min(top, vocabulary.Count - 1); // <PAD> is never a candidate
                var distribution = output.Logits.softmax(-1);
                var (values, indices) = Checkpoint.ServedDistribution(distribution, trees).topk(k, dim: -1);
                var probabilities = values.cpu().data<float>().ToArray();
                var ids = indices.cpu().data<long>().ToArray();
                for (var b = 0; b < batch.Length; b++)
                {
                    var topEvents = new EventProbability[k];
                    for (var j = 0; j < k; j++)
                        topEvents[j] = new EventProbability(vocabulary.Decode((int)ids[b * k + j]), probabilities[b * k + j]);
                    scores[batch[b]] = new UserScore(sequences[members[batch[b]]].User, null, null, topEvents);
                }
            }
        }
        return scores;
    }

    /// <summary>Positions sorted by length (ties by position), cut so a batch pads to at most
    /// <see cref="EventsPerBatch"/> events and holds at most <see cref="MaxBatchUsers"/> users.</summary>
    internal static List<int[]> LengthBuckets(IReadOnlyList<int> lengths)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).ToArray();
        var batches = new List<int[]>();
        var start = 0;
        while (start < order.Length)
        {
            var end = start + 1;
            // Sorted ascending: the batch pads to its last member's length.
            while (end < order.Length && end - start < MaxBatchUsers
                   && (end - start + 1) * (long)Math.Max(1, lengths[order[end]]) <= EventsPerBatch)
                end++;
            batches.Add(order[start..end]);
            start = end;
        }
        return batches;
    }

    public void Dispose() => Checkpoint.Model.Dispose();
}
