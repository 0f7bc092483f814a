using System.Net;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Serving.Scoring;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>
/// Models trained with GA4 signals and blended with trees (<c>combine_with_trees: "blend"</c>, the trees reading the
/// signals too): trained for real (TorchSharp, one epoch; LightGBM) on <see cref="SignalData"/>'s synthetic export,
/// written once per test run.
/// </summary>
internal static class BlendedSignalModels
{
    public sealed record Models(SignalData.Data Data, string EventsCheckpoint, string ChurnCheckpoint);

    private static readonly Lazy<Task<Models>> Lazy = new(CreateAsync);

    public static Task<Models> GetAsync() => Lazy.Value;

    public static NnConfig Config(PredictionTask task) => NnConfig.Parse($$"""
        {
          "model_type": "rnn",
          "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 16, "attention_type": "global",
                                 "use_time_gaps": true, "max_sequence_length": 40, "use_signals": true },
          "model_training_params": { "task": "{{PredictionTasks.Name(task)}}", "device": "cpu", "num_epochs": 1, "learning_rate": 0.01 },
          "pipeline_params": { "prob_threshold": 0.5, "return_churn_prob": true, "combine_with_trees": "blend" }
        }
        """);

    private static async Task<Models> CreateAsync()
    {
        var data = await SignalData.GetAsync();
        var root = CustomerAnalysis.Testing.TestFolders.Create("ca-blended-signals-");
        string Train(PredictionTask task, PreparedDataset dataset)
        {
            var config = Config(task);
            var result = Trainer.Train(dataset, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 7));
            using var model = result.Model;
            var path = Path.Combine(root, $"{PredictionTasks.Name(task)}.ckpt");
            using var file = File.Create(path);
            ModelCheckpoint.ForServing(result, dataset).Write(file);
            return path;
        }
        return new Models(data, Train(PredictionTask.Events, data.Events), Train(PredictionTask.Churn, data.Churn));
    }
}

/// <summary>
/// A model trained with signals and blended with trees, served by the predict routes and scored in batch
/// (<see cref="CheckpointScorer"/>, what <c>ca score</c> and scoring runs use): the answer for an input equals what the
/// evaluator computes for the same prepared example (<see cref="ModelCheckpoint.Served"/> of the model's predictions,
/// the trees scoring the example's signals), with signals and with them missing; bad signal fields are 400s naming
/// the field.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlendedSignalServingTests(AzuriteFixture azurite)
{
    private const double Tolerance = 1e-5;

    /// <summary>What evaluation computes for <paramref name="examples"/>: the model's predictions, blended with the
    /// checkpoint's trees (which read the examples' signals), churn calibrated.</summary>
    private static PredictionSet Evaluated(ModelCheckpoint checkpoint, IReadOnlyList<SequenceExample> examples) =>
        checkpoint.Served(Trainer.Predict(checkpoint.Model, examples, checkpoint.Config.Init.MaxSequenceLength, 16), examples);

    private static SequenceExample[] WithoutSignals(ModelCheckpoint checkpoint, IEnumerable<SequenceExample> examples) =>
        examples.Select(e => e with { Signals = SignalServingTests.AllMissing(checkpoint.Model.Signals!, e.Tokens.Length) }).ToArray();

    /// <summary>The blend really mixes both sides, and the trees' side reads the signals: parity below would not
    /// hold by chance with signals dropped or the trees left out.</summary>
    private static void AssertTreesReadSignals(ModelCheckpoint checkpoint, IReadOnlyList<SequenceExample> examples)
    {
        var blend = Assert.IsType<TreesBlend>(checkpoint.TreesBlend);
        Assert.True(blend.ModelWeight < 1, $"the blend kept the sequence model alone (w = {blend.ModelWeight})");
        var moved = blend.TreeScores(examples).Zip(blend.TreeScores(WithoutSignals(checkpoint, examples))).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"signals moved the trees' scores by {moved} at most");
    }

    /// <summary>Bad signal values are 400 problem+json naming the field, with the blended model served.</summary>
    private static async Task AssertBadSignalsRejectedAsync(ServerHarness server, string route, string batchField, JsonObject good)
    {
        string Body(string field, JsonNode? value)
        {
            var e = good.DeepClone().AsObject();
            e[field] = value;
            return new JsonObject { [batchField] = new JsonArray(new JsonArray(e)) }.ToJsonString();
        }
        foreach (var (body, expected) in new (string, string)[]
                 {
                     (Body("country", 5), $"'{batchField}[0][0].country' must be a string"),
                     (Body("page_path", new string('x', SignalInputs.MaxTextLength + 1)), $"'{batchField}[0][0].page_path' is 1001 characters long"),
                     (Body("engagement_time_msec", "1500"), $"'{batchField}[0][0].engagement_time_msec' must be a number or null (got a string)"),
                     (Body("colour", "red"), $"Unknown field '{batchField}[0][0].colour'"),
                 })
        {
            using var response = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, route, body, withKey: false));
            var problem = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(expected, System.Text.Json.JsonDocument.Parse(problem).RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_next_event_route_serves_a_blended_signals_model_as_it_was_evaluated()
    {
        var models = await BlendedSignalModels.GetAsync();
        var data = models.Data;
        var sessions = SignalServingTests.TestSessions(data, 40);
        var checkpoint = ModelCheckpoint.Read(models.EventsCheckpoint);
        using var model = checkpoint.Model;
        var examples = sessions.Select(s => s.Example).ToArray();
        AssertTreesReadSignals(checkpoint, examples);
        var evaluated = Evaluated(checkpoint, examples);
        var evaluatedMissing = Evaluated(checkpoint, WithoutSignals(checkpoint, examples));

        await using var server = await SignalServingTests.StartAsync(azurite);
        await SignalServingTests.PromoteAsync(server, "next-event", "events", models.EventsCheckpoint);
        string Body(bool withSignals) => new JsonObject
        {
            ["sessions"] = new JsonArray(sessions.Select(s => (JsonNode)new JsonArray(s.Input.Select(e => (JsonNode)e.ToRequest(withSignals)).ToArray())).ToArray()),
            ["top"] = data.Events.Vocabulary.Count - 1,
        }.ToJsonString();
        foreach (var (withSignals, expected) in new[] { (true, evaluated), (false, evaluatedMissing) })
        {
            var (status, answer) = await SignalServingTests.PostAsync(server, "api/predict/next-event", Body(withSignals));
            Assert.True(status == HttpStatusCode.OK, answer.ToString());
            var served = answer.GetProperty("predictions").EnumerateArray().ToList();
            Assert.Equal(sessions.Count, served.Count);
            for (var i = 0; i < served.Count; i++)
            {
                // Every event of the vocabulary is listed: the whole served distribution is the evaluated one.
                var row = expected.Row(i);
                var top = served[i].GetProperty("top").EnumerateArray().ToList();
                Assert.Equal(data.Events.Vocabulary.Count - 1, top.Count);
                foreach (var e in top)
                    Assert.Equal(row[data.Events.Vocabulary.Encode(e.GetProperty("event").GetString()!)], e.GetProperty("probability").GetDouble(), Tolerance);
            }
        }
        await AssertBadSignalsRejectedAsync(server, "api/predict/next-event", "sessions", sessions[0].Input[0].ToRequest());
    }

    /// <summary>A churn example's raw input: the user's events in the product's order (time, then position in the
    /// export), the first as many as the example has (the churn window starts at the user's first event and this
    /// export has no user past the length limit).</summary>
    private static RawEvent[] ChurnInputOf(SignalData.Data data, SequenceExample example)
    {
        var events = data.Sessions.Where(s => s.Key.User == example.User).OrderBy(s => s.Value[0].Timestamp)
            .SelectMany(s => s.Value).OrderBy(e => e.Timestamp).Take(example.Tokens.Length).ToArray();
        Assert.Equal(example.Tokens, events.Select(e => data.Churn.Vocabulary.Encode(e.Name)));
        Assert.Equal(example.GapSeconds, events.Select((e, i) => i == 0 ? 0f : (float)((e.Timestamp - events[i - 1].Timestamp) / 1e6)));
        return events;
    }

    [Fact]
    public async Task The_churn_route_serves_a_blended_signals_model_as_it_was_evaluated()
    {
        var models = await BlendedSignalModels.GetAsync();
        var data = models.Data;
        var checkpoint = ModelCheckpoint.Read(models.ChurnCheckpoint);
        using var model = checkpoint.Model;
        // Every labelled user (the trees and the model saw the training ones; serving must not care).
        var examples = data.Churn.Test.Concat(data.Churn.Validation).Concat(data.Churn.Train).Take(80).ToArray();
        Assert.True(examples.Length >= 60, $"only {examples.Length} labelled churn users");
        var inputs = examples.Select(e => ChurnInputOf(data, e)).ToArray();
        AssertTreesReadSignals(checkpoint, examples);
        var evaluated = Evaluated(checkpoint, examples);
        var evaluatedMissing = Evaluated(checkpoint, WithoutSignals(checkpoint, examples));

        await using var server = await SignalServingTests.StartAsync(azurite);
        await SignalServingTests.PromoteAsync(server, "churn", "churn", models.ChurnCheckpoint);
        string Body(bool withSignals) => new JsonObject
        {
            ["users"] = new JsonArray(inputs.Select(events => (JsonNode)new JsonArray(events.Select(e => (JsonNode)e.ToRequest(withSignals)).ToArray())).ToArray()),
        }.ToJsonString();
        foreach (var (withSignals, expected) in new[] { (true, evaluated), (false, evaluatedMissing) })
        {
            var (status, answer) = await SignalServingTests.PostAsync(server, "api/predict/churn", Body(withSignals));
            Assert.True(status == HttpStatusCode.OK, answer.ToString());
            var served = answer.GetProperty("predictions").EnumerateArray().ToList();
            Assert.Equal(examples.Length, served.Count);
            for (var i = 0; i < served.Count; i++)
            {
                Assert.Equal(expected.Probabilities[i], served[i].GetProperty("probability").GetDouble(), Tolerance);
                Assert.Equal(expected.Probabilities[i] >= 0.5, served[i].GetProperty("churned").GetBoolean());
            }
        }
        await AssertBadSignalsRejectedAsync(server, "api/predict/churn", "users", inputs[0][0].ToRequest());
    }

    [Fact]
    public async Task The_batch_scorer_scores_a_blended_signals_model_as_it_was_evaluated()
    {
        var models = await BlendedSignalModels.GetAsync();
        var data = models.Data;
        var events = await EventSources.Open(data.Export, new EventSourceOptions { Signals = SignalData.Set }).ReadTableAsync();
        using var scorer = new TorchBatchScorer();

        // Churn: every labelled user, with the probability evaluation gives their prepared example.
        var churn = ModelCheckpoint.Read(models.ChurnCheckpoint);
        using (churn.Model)
        {
            var labelled = data.Churn.Train.Concat(data.Churn.Validation).Concat(data.Churn.Test).Concat(data.Churn.ValidationRecent).ToArray();
            AssertTreesReadSignals(churn, labelled);
            var evaluated = Evaluated(churn, labelled);
            var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Churn, SignalData.Options, UserShard.Whole);
            var (scores, _) = await ShardScoring.ScoreAsync(scorer, models.ChurnCheckpoint, shard,
                ScoringShard.EndOfData([shard.MaxTimestamp]), top: 3, CancellationToken.None);
            var byUser = scores.ToDictionary(s => s.User);
            Assert.Equal(labelled.Length, byUser.Count);
            for (var i = 0; i < labelled.Length; i++)
            {
                Assert.Equal(evaluated.Probabilities[i], byUser[labelled[i].User].ChurnProbability!.Value, Tolerance);
                Assert.Equal(evaluated.Probabilities[i] >= 0.5, byUser[labelled[i].User].Churned);
            }
        }

        // Next event: each user's latest session, as evaluation scores that session's example (names, gaps and its
        // signals encoded as preparation encodes them).
        var next = ModelCheckpoint.Read(models.EventsCheckpoint);
        using (next.Model)
        {
            var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Events, SignalData.Options, UserShard.Whole);
            var (scores, _) = await ShardScoring.ScoreAsync(scorer, models.EventsCheckpoint, shard, 0,
                top: next.Vocabulary.Count - 1, CancellationToken.None);
            Assert.Equal(shard.Sequences.Count, scores.Count);
            var examples = shard.Sequences.Select(s => new SequenceExample(s.User, s.User,
                s.Names.Select(n => next.Vocabulary.Encode(shard.EventNames[n])).ToArray(), s.GapSeconds, 1,
                DatasetPreparer.EncodeSignals(next.Model.Signals!, s.Signals!, shard.SignalValues!))).ToArray();
            AssertTreesReadSignals(next, examples);
            var evaluated = Evaluated(next, examples);
            for (var i = 0; i < examples.Length; i++)
            {
                Assert.Equal(shard.Sequences[i].User, scores[i].User);
                var row = evaluated.Row(i);
                Assert.Equal(next.Vocabulary.Count - 1, scores[i].TopEvents.Count);
                foreach (var e in scores[i].TopEvents)
                    Assert.Equal(row[next.Vocabulary.Encode(e.Event)], e.Probability, Tolerance);
            }
        }
    }
}
