using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Tests;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Serving;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>Dynamic batching of the prediction routes, on a real (small, quickly trained) TorchSharp model: batched
/// results equal unbatched ones, a lone call never waits, one bad call fails alone.</summary>
public sealed class PredictionBatcherTests : IClassFixture<PredictionBatcherTests.Models>
{
    /// <summary>One small model per task, trained once for the class (a few seconds).</summary>
    public sealed class Models : IDisposable
    {
        public Predictor Events { get; } = Trained(PredictionTask.Events, "\"attention_type\": \"multi-head\", \"num_heads\": 2");
        public Predictor Churn { get; } = Trained(PredictionTask.Churn, "\"use_time_gaps\": true");

        private static Predictor Trained(PredictionTask task, string init)
        {
            var data = SyntheticSequences.Create(task, train: 300, validation: 60, test: 10);
            var config = SyntheticSequences.Config("rnn", task,
                init: "\"hidden_size\": 16, \"dropout_rate\": 0, \"max_sequence_length\": 6, " + init,
                training: "\"num_epochs\": 3, \"learning_rate\": 0.02");
            var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(1, 3));
            using var stream = new MemoryStream();
            ModelCheckpoint.FromTraining(result, data.Vocabulary).Write(stream);
            result.Model.Dispose();
            stream.Position = 0;
            return Predictor.Load(stream);
        }

        public void Dispose()
        {
            Events.Dispose();
            Churn.Dispose();
        }
    }

    private readonly Models _models;

    public PredictionBatcherTests(Models models) => _models = models;

    /// <summary>Sessions of different lengths (1 to 9 events, some longer than the model's limit of 6, one with an
    /// unknown name), so a shared pass pads and truncates.</summary>
    private static SessionInput[] Sessions(int call) =>
        Enumerable.Range(0, 1 + call % 3).Select(s =>
        {
            var length = 1 + (call * 7 + s * 3) % 9;
            var names = Enumerable.Range(0, length)
                .Select(i => (call + s + i) % 11 == 0 ? "never_seen_event" : SyntheticSequences.EventName((call + s * 5 + i * 3) % SyntheticSequences.EventKinds))
                .ToArray();
            return new SessionInput(names, names.Select((_, i) => i == 0 ? 0.0 : 5.0 * i + call).ToArray());
        }).ToArray();

    /// <summary>Equal up to float32 rounding: a larger matrix product may add in another order.</summary>
    private const double Tolerance = 1e-6;

    private static void AssertSame(IReadOnlyList<SessionPrediction> alone, IReadOnlyList<SessionPrediction> batched)
    {
        Assert.Equal(alone.Count, batched.Count);
        for (var s = 0; s < alone.Count; s++)
        {
            Assert.Equal(alone[s].TopEvents.Select(e => e.Event), batched[s].TopEvents.Select(e => e.Event));
            Assert.All(alone[s].TopEvents.Zip(batched[s].TopEvents), p => Assert.Equal(p.First.Probability, p.Second.Probability, Tolerance));
            Assert.Equal(alone[s].ChurnProbability.HasValue, batched[s].ChurnProbability.HasValue);
            if (alone[s].ChurnProbability is { } churn) Assert.Equal(churn, batched[s].ChurnProbability!.Value, Tolerance);
            Assert.Equal(alone[s].Churns, batched[s].Churns);
            Assert.Equal(alone[s].Attention.Count, batched[s].Attention.Count);
            Assert.All(alone[s].Attention.Zip(batched[s].Attention), p => Assert.Equal(p.First, p.Second, Tolerance));
        }
    }

    /// <summary>Holds the first pass until <paramref name="queued"/> more calls are waiting, so they share the second.</summary>
    private static (PredictionBatcher Batcher, ManualResetEventSlim Release) Gated(Predictor predictor, int maxSessions = 64)
    {
        var release = new ManualResetEventSlim(false);
        var first = true;
        var batcher = new PredictionBatcher((sessions, top) =>
        {
            if (first)
            {
                first = false;
                Assert.True(release.Wait(TimeSpan.FromSeconds(10)), "the test never released the first pass");
            }
            return predictor.Predict(sessions, top);
        }) { MaxSessions = maxSessions, MaxWait = TimeSpan.Zero };
        return (batcher, release);
    }

    [Theory]
    [InlineData(PredictionTask.Events)]
    [InlineData(PredictionTask.Churn)]
    public async Task Calls_queued_behind_a_pass_share_the_next_one_and_get_what_they_would_alone(PredictionTask task)
    {
        var predictor = task == PredictionTask.Events ? _models.Events : _models.Churn;
        var (batcher, release) = Gated(predictor);
        using var _ = release;

        var firstCall = Task.Run(() => batcher.PredictAsync(Sessions(0), top: 3));
        while (batcher.Passes == 0) await Task.Delay(1); // the first pass has started and is held
        var queued = Enumerable.Range(1, 12).Select(call => batcher.PredictAsync(Sessions(call), top: 1 + call % 4)).ToArray();
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        release.Set();
        var results = await Task.WhenAll(queued);
        await firstCall;

        Assert.Equal(2, batcher.Passes); // the held one, then all twelve together
        Assert.Equal(13, batcher.Calls);
        for (var call = 1; call <= 12; call++)
        {
            var top = 1 + call % 4;
            AssertSame(predictor.Predict(Sessions(call), top), results[call - 1]);
            if (task == PredictionTask.Events) Assert.All(results[call - 1], p => Assert.Equal(top, p.TopEvents.Count));
        }
    }

    [Fact]
    public async Task A_lone_call_runs_at_once_on_the_callers_thread()
    {
        var batcher = new PredictionBatcher(_models.Events.Predict); // default MaxWait: waits only once calls overlap
        for (var i = 0; i < 3; i++)
        {
            var answer = batcher.PredictAsync(Sessions(i), top: 2);
            Assert.True(answer.IsCompletedSuccessfully, "an idle model answers a call before PredictAsync returns");
            AssertSame(_models.Events.Predict(Sessions(i), 2), await answer);
        }
        Assert.Equal(3, batcher.Passes);
    }

    [Fact]
    public async Task A_bad_call_in_a_shared_pass_fails_alone()
    {
        var (batcher, release) = Gated(_models.Events);
        using var _ = release;
        var firstCall = Task.Run(() => batcher.PredictAsync(Sessions(0), top: 3));
        while (batcher.Passes == 0) await Task.Delay(1);
        var good = batcher.PredictAsync(Sessions(4), top: 2);
        var bad = batcher.PredictAsync([new SessionInput([])], top: 2); // no events: the predictor refuses it
        var alsoGood = batcher.PredictAsync(Sessions(5), top: 2);
        release.Set();

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => bad);
        Assert.Contains("no events", error.Message);
        AssertSame(_models.Events.Predict(Sessions(4), 2), await good);
        AssertSame(_models.Events.Predict(Sessions(5), 2), await alsoGood);
        await firstCall;
    }

    [Fact]
    public async Task A_pass_holds_at_most_max_sessions_unless_one_call_has_more()
    {
        var (batcher, release) = Gated(_models.Events, maxSessions: 4);
        using var _ = release;
        var firstCall = Task.Run(() => batcher.PredictAsync(Sessions(0), top: 1));
        while (batcher.Passes == 0) await Task.Delay(1);
        SessionInput[] Many(int n) => Enumerable.Range(0, n).Select(i => new SessionInput(["event_1", "event_2", $"event_{i % 8}"])).ToArray();
        // 3 + 3 sessions do not fit in 4: two passes; a call of 6 runs alone.
        var calls = new[] { Many(3), Many(3), Many(6) }.Select(s => batcher.PredictAsync(s, top: 1)).ToArray();
        release.Set();
        var results = await Task.WhenAll(calls);
        await firstCall;

        Assert.Equal(1 + 3, batcher.Passes);
        Assert.Equal([3, 3, 6], results.Select(r => r.Count));
    }

    [Fact]
    public async Task Concurrent_requests_through_the_served_predictor_are_answered_as_alone()
    {
        // The routes' predictor (TorchModelLoader's) from many threads at once; whatever passes form, each answer is
        // the one-at-a-time answer.
        var served = TorchModelLoader.For(_models.Events, new ServingOptions());
        IReadOnlyList<InputEvent> Events(int call) => Sessions(call)[0].Events.Select(e => new InputEvent(e, null)).ToArray();
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(call => Task.Run(() =>
            served.PredictNextEventAsync([Events(call)], top: 3))));
        for (var call = 0; call < answers.Length; call++)
        {
            var alone = _models.Events.Predict([Sessions(call)[0].Events], 3)[0];
            Assert.Equal(alone.TopEvents.Select(e => e.Event), answers[call][0].Top.Select(e => e.Event));
            Assert.All(alone.Attention.Zip(answers[call][0].Attention), p => Assert.Equal(p.First, p.Second, Tolerance));
        }
        // Not disposed: it would dispose the shared model the fixture owns.
    }
}
