using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Serving;

/// <summary>Loads a checkpoint into Modeling's <see cref="Predictor"/> behind a <see cref="PredictionBatcher"/>:
/// concurrent requests share forward passes (one intra-op thread, one dispose scope per pass); safe from many
/// requests at once.</summary>
public sealed class TorchModelLoader : IModelLoader
{
    private readonly ServingOptions _options;

    public TorchModelLoader() : this(new ServingOptions()) { }

    public TorchModelLoader(ServingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSessions, 1, nameof(options.MaxBatchSessions));
        if (options.MaxBatchWait < TimeSpan.Zero || options.MaxBatchWait > ServingOptions.MaxBatchWaitLimit)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBatchWait,
                $"MaxBatchWait must be between 0 and {ServingOptions.MaxBatchWaitLimit.TotalMilliseconds} ms.");
        _options = options;
    }

    public async Task<IPredictor> LoadAsync(string checkpointPath, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(checkpointPath);
        return new TorchPredictor(Predictor.Load(file), _options);
    }

    /// <summary>The predictor of a loaded checkpoint (what <see cref="LoadAsync"/> returns), for callers that hold
    /// one already.</summary>
    public static IPredictor For(Predictor predictor, ServingOptions options) => new TorchPredictor(predictor, options);

    private sealed class TorchPredictor(Predictor predictor, ServingOptions options) : IPredictor, IBatchStatistics
    {
        private readonly PredictionBatcher _batcher = new(predictor.Predict)
        {
            MaxSessions = options.MaxBatchSessions, MaxWait = options.MaxBatchWait,
        };

        public PredictionTask Task => predictor.Checkpoint.Task;

        public long Passes => _batcher.Passes;

        public long Calls => _batcher.Calls;

        /// <summary>Batched, or (<see cref="ServingOptions.Batching"/> off) one pass per call, calls serialised.</summary>
        private Task<IReadOnlyList<SessionPrediction>> PredictAsync(SessionInput[] sessions, int top) =>
            options.Batching ? _batcher.PredictAsync(sessions, top) : System.Threading.Tasks.Task.FromResult(predictor.Predict(sessions, top));

        public double ChurnThreshold => predictor.Checkpoint.Config.Pipeline.ProbThreshold;

        public Core.Events.SignalSet Signals => predictor.Checkpoint.Model.Signals?.Set ?? Core.Events.SignalSet.None;

        public bool KnowsEvent(string eventName) =>
            predictor.Checkpoint.Vocabulary.Encode(eventName) is not (Vocabulary.Unk or Vocabulary.Pad);

        public IReadOnlyList<NextEventPrediction> PredictNextEvent(IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top) =>
            PredictNextEventAsync(sessions, top).GetAwaiter().GetResult();

        public IReadOnlyList<ChurnPrediction> PredictChurn(IReadOnlyList<IReadOnlyList<InputEvent>> users) =>
            PredictChurnAsync(users).GetAwaiter().GetResult();

        public async Task<IReadOnlyList<NextEventPrediction>> PredictNextEventAsync(
            IReadOnlyList<IReadOnlyList<InputEvent>> sessions, int top)
        {
            if (Task != PredictionTask.Events) throw new NotSupportedException("This is a churn model.");
            if (top < 1) throw new InvalidInputException($"top must be at least 1, not {top}.");
            var predictions = await PredictAsync(Inputs(sessions), top);
            return predictions.Select(p => new NextEventPrediction(p.TopEvents, p.Attention)).ToList();
        }

        public async Task<IReadOnlyList<ChurnPrediction>> PredictChurnAsync(IReadOnlyList<IReadOnlyList<InputEvent>> users)
        {
            if (Task != PredictionTask.Churn) throw new NotSupportedException("This is an events model.");
            var predictions = await PredictAsync(Inputs(users), top: 1);
            // Without return_churn_prob the model only says churned or not: served as 1 or 0.
            return predictions
                .Select(p => new ChurnPrediction(p.ChurnProbability ?? (p.Churns == true ? 1.0 : 0.0), p.Attention))
                .ToList();
        }

        /// <summary>A model trained with time gaps needs every event's timestamp (the gap to the previous event, 0
        /// for the first, is an input); other models ignore timestamps. Signals pass to a signals model only.</summary>
        private SessionInput[] Inputs(IReadOnlyList<IReadOnlyList<InputEvent>> sequences)
        {
            var withSignals = predictor.Checkpoint.Model.Signals is not null;
            IReadOnlyList<EventSignalValues?>? SignalsOf(IReadOnlyList<InputEvent> events) =>
                withSignals ? events.Select(e => e.Signals).ToArray() : null;
            if (!predictor.Checkpoint.Config.Init.UseTimeGaps)
                return sequences.Select(events => new SessionInput(events.Select(e => e.Name).ToArray(), null, SignalsOf(events))).ToArray();
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
                    .ToArray(), SignalsOf(events))).ToArray();
        }

        public void Dispose() => predictor.Dispose();
    }
}
