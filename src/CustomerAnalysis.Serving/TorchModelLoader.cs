using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Serving;

/// <summary>Loads a checkpoint into Modeling's <see cref="Predictor"/> (one intra-op thread per call, calls
/// serialised: safe from many requests at once).</summary>
public sealed class TorchModelLoader : IModelLoader
{
    public async Task<IPredictor> LoadAsync(string checkpointPath, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(checkpointPath);
        return new TorchPredictor(Predictor.Load(file));
    }

    private sealed class TorchPredictor(Predictor predictor) : IPredictor
    {
        public PredictionTask Task => predictor.Checkpoint.Task;

        public double ChurnThreshold => predictor.Checkpoint.Config.Pipeline.ProbThreshold;

        public bool KnowsEvent(string eventName) =>
            predictor.Checkpoint.Vocabulary.Encode(eventName) is not (Vocabulary.Unk or Vocabulary.Pad);

        public IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top)
        {
            if (Task != PredictionTask.Events) throw new NotSupportedException("This is a churn model.");
            return predictor.Predict(Inputs(sessions), top)
                .Select(p => new NextEventPrediction(
                    p.TopEvents, p.Attention))
                .ToList();
        }

        public IReadOnlyList<ChurnPrediction> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users)
        {
            if (Task != PredictionTask.Churn) throw new NotSupportedException("This is an events model.");
            // Without return_churn_prob the model only says churned or not: served as 1 or 0.
            return predictor.Predict(Inputs(users), top: 1)
                .Select(p => new ChurnPrediction(p.ChurnProbability ?? (p.Churns == true ? 1.0 : 0.0), p.Attention))
                .ToList();
        }

        /// <summary>A model trained with time gaps needs every event's timestamp (the gap to the previous event, 0
        /// for the first, is an input); other models ignore timestamps.</summary>
        private SessionInput[] Inputs(IReadOnlyList<IReadOnlyList<InputEvent>> sequences)
        {
            if (!predictor.Checkpoint.Config.Init.UseTimeGaps)
                return sequences.Select(events => new SessionInput(events.Select(e => e.Name).ToArray())).ToArray();
            for (var s = 0; s < sequences.Count; s++)
            for (var i = 0; i < sequences[s].Count; i++)
                if (sequences[s][i].Timestamp is null)
                    throw new InvalidInputException(
                        $"This model was trained with time gaps, so every event needs a timestamp; sequence {s}, event {i} " +
                        $"('{sequences[s][i].Name}') has none. Send events as objects with an ISO-8601 timestamp: " +
                        """{"events": [{"name": "session_start", "timestamp": "2021-01-21T10:00:00Z"}, """ +
                        """{"name": "page_view", "timestamp": "2021-01-21T10:00:02Z"}]}.""");
            return sequences.Select(events => new SessionInput(
                events.Select(e => e.Name).ToArray(),
                events.Select((e, i) => i == 0 ? 0.0 : Math.Max(0, (e.Timestamp!.Value - events[i - 1].Timestamp!.Value).TotalSeconds))
                    .ToArray())).ToArray();
        }

        public void Dispose() => predictor.Dispose();
    }
}
