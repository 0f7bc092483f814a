using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Prediction;

namespace CustomerAnalysis.Pipeline.Training.InProcess;

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

        public IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top)
        {
            if (Task != PredictionTask.Events) throw new NotSupportedException("This is a churn model.");
            return predictor.Predict(Inputs(sessions), top)
                .Select(p => new NextEventPrediction(
                    p.TopEvents.Select(e => new EventProbability(e.Event, e.Probability)).ToList(), p.Attention))
                .ToList();
        }

        public IReadOnlyList<double> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users)
        {
            if (Task != PredictionTask.Churn) throw new NotSupportedException("This is an events model.");
            // Without return_churn_prob the model only says churned or not: served as 1 or 0.
            return predictor.Predict(Inputs(users), top: 1)
                .Select(p => p.ChurnProbability ?? (p.Churns == true ? 1.0 : 0.0))
                .ToList();
        }

        /// <summary>Gaps come from the events' timestamps when every event has one (0 for the first); otherwise none,
        /// and a model trained with time gaps refuses the input with a message saying so.</summary>
        private static SessionInput[] Inputs(IReadOnlyList<IReadOnlyList<InputEvent>> sequences) =>
            sequences.Select(events => new SessionInput(
                events.Select(e => e.Name).ToArray(),
                events.All(e => e.Timestamp.HasValue)
                    ? events.Select((e, i) => i == 0 ? 0.0 : Math.Max(0, (e.Timestamp!.Value - events[i - 1].Timestamp!.Value).TotalSeconds)).ToArray()
                    : null)).ToArray();

        public void Dispose() => predictor.Dispose();
    }
}
