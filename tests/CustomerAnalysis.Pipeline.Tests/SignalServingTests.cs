using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Serving;
using CustomerAnalysis.Serving.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>
/// Serving and batch scoring of models trained with GA4 signals (<c>use_signals</c>), on real TorchSharp models over
/// a synthetic NDJSON export: a served prediction equals the evaluator's for the same example (the request's raw
/// values encoded exactly as the readers and preparation encode them), missing signals are <c>&lt;MISSING&gt;</c>,
/// bad values are 400s naming the field, names-only models ignore signals, the dynamic batcher keeps results, and a
/// scoring run on Azurite reads and scores the signals.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SignalServingTests(AzuriteFixture azurite)
{
    /// <summary>Equal up to float32 rounding (a batch of another size may add in another order).</summary>
    private const double Tolerance = 1e-5;

    /// <summary>The raw input events of a prepared next-event example (its session without the last event).</summary>
    internal static RawEvent[] InputOf(SignalData.Data data, SequenceExample example)
    {
        var colon = example.Id.LastIndexOf(':');
        var session = data.Sessions[(example.Id[..colon], long.Parse(example.Id[(colon + 1)..], CultureInfo.InvariantCulture))];
        var input = session[..^1][^example.Tokens.Length..];
        Assert.Equal(example.Tokens, input.Select(e => data.Events.Vocabulary.Encode(e.Name)));
        return input;
    }

    internal static List<(SequenceExample Example, RawEvent[] Input)> TestSessions(SignalData.Data data, int count) =>
        data.Events.Test.Take(count).Select(e => (Example: e, Input: InputOf(data, e))).ToList();

    /// <summary>Every signal missing, built apart from the serving encoder: the oracle for a request without signals.</summary>
    internal static ExampleSignals AllMissing(SignalEncoding encoding, int count) => new(
        encoding.EventCategorical.Select(_ => Enumerable.Repeat(SignalEncoding.Missing, count).ToArray()).ToArray(),
        encoding.EventNumeric.Select(_ => new float?[count]).ToArray(),
        encoding.UserCategorical.Select(_ => SignalEncoding.Missing).ToArray());

    internal static Task<ServerHarness> StartAsync(AzuriteFixture azurite, Action<IServiceCollection>? more = null) =>
        ServerHarness.StartAsync(azurite, services =>
        {
            services.AddSingleton<ITrialRunner>(new LookupTrialRunner());
            services.AddSingleton<IEvaluator, LookupEvaluator>();
            services.AddSingleton<IModelLoader>(new TorchModelLoader());
            more?.Invoke(services);
        }, config => config with { Api = config.Api with { MaxBodyBytes = 4 << 20 } });

    internal static async Task<ScoringModel> PromoteAsync(ServerHarness server, string name, string task, string checkpoint)
    {
        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        var registry = server.Server.Services.GetRequiredService<ModelRegistry>();
        var blob = $"runs/r1/trials/{name}/checkpoint.bin";
        await artifacts.UploadFileAsync(blob, checkpoint);
        var version = await registry.RegisterAsync(name, "r1", task, blob, new Dictionary<string, double>(), DateTimeOffset.UtcNow);
        Assert.True((await registry.PromoteAsync(name, version.Version, null)).Promoted);
        return new ScoringModel(name, version.Version, blob);
    }

    internal static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(ServerHarness server, string path, string body)
    {
        using var response = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, path, body, withKey: false));
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static void AssertServedEqual(PredictionSet evaluated, int index, Vocabulary vocabulary, JsonElement served)
    {
        var probabilities = evaluated.Probabilities.AsSpan(index * evaluated.Classes, evaluated.Classes);
        var top = served.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(3, top.Count);
        // The served top-1 is the evaluator's most likely event (ties aside), and every served probability is its.
        var best = 1;
        for (var c = 1; c < probabilities.Length; c++) if (probabilities[c] > probabilities[best]) best = c;
        Assert.Equal(probabilities[best], top[0].GetProperty("probability").GetDouble(), Tolerance);
        foreach (var e in top)
            Assert.Equal(probabilities[vocabulary.Encode(e.GetProperty("event").GetString()!)], e.GetProperty("probability").GetDouble(), Tolerance);
    }

    [Fact]
    public async Task A_served_prediction_equals_the_evaluators_for_the_same_session_with_signals_or_with_them_missing()
    {
        var data = await SignalData.GetAsync();
        var sessions = TestSessions(data, 40);
        Assert.Equal(40, sessions.Count);
        var checkpoint = ModelCheckpoint.Read(data.EventsCheckpoint);
        using var model = checkpoint.Model;
        var encoding = checkpoint.Model.Signals!;
        var examples = sessions.Select(s => s.Example).ToArray();
        var evaluated = Trainer.Predict(checkpoint.Model, examples, checkpoint.Config.Init.MaxSequenceLength, 16);
        var evaluatedMissing = Trainer.Predict(checkpoint.Model,
            examples.Select(e => e with { Signals = AllMissing(encoding, e.Tokens.Length) }).ToArray(), checkpoint.Config.Init.MaxSequenceLength, 16);
        // The signals matter to this model: parity below is not the same answer whatever they are.
        var moved = evaluated.Probabilities.Zip(evaluatedMissing.Probabilities).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"signals moved the evaluator's probabilities by {moved} at most");

        await using var server = await StartAsync(azurite);
        await PromoteAsync(server, "next-event", "events", data.EventsCheckpoint);
        string Body(bool withSignals) => new JsonObject
        {
            ["sessions"] = new JsonArray(sessions.Select(s => (JsonNode)new JsonArray(s.Input.Select(e => (JsonNode)e.ToRequest(withSignals)).ToArray())).ToArray()),
        }.ToJsonString();

        var (status, withSignals) = await PostAsync(server, "api/predict/next-event", Body(withSignals: true));
        Assert.True(status == HttpStatusCode.OK, withSignals.ToString());
        Assert.Equal(SignalData.Set.Fields.Select(Signals.Name), withSignals.GetProperty("signals").EnumerateArray().Select(s => s.GetString()));
        var served = withSignals.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(sessions.Count, served.Count);
        for (var i = 0; i < sessions.Count; i++) AssertServedEqual(evaluated, i, checkpoint.Vocabulary, served[i]);

        // Without signals (names and times only) the same model still serves: every signal is <MISSING>, as
        // preparation marks a value the export lacks.
        var (missingStatus, withoutSignals) = await PostAsync(server, "api/predict/next-event", Body(withSignals: false));
        Assert.True(missingStatus == HttpStatusCode.OK, withoutSignals.ToString());
        var servedMissing = withoutSignals.GetProperty("predictions").EnumerateArray().ToList();
        for (var i = 0; i < sessions.Count; i++) AssertServedEqual(evaluatedMissing, i, checkpoint.Vocabulary, servedMissing[i]);

        // A bad value is a 400 naming the field, with a signals model served (and before any model is looked up).
        var good = sessions[0].Input[0].ToRequest();
        string One(string field, JsonNode? value)
        {
            var e = good.DeepClone().AsObject();
            e[field] = value;
            return new JsonObject { ["events"] = new JsonArray(e) }.ToJsonString();
        }
        foreach (var (body, expected) in new (string, string)[]
                 {
                     (One("country", 5), "'events[0].country' must be a string"),
                     (One("device_category", new JsonObject()), "'events[0].device_category' must be a string"),
                     (One("page_path", new string('x', SignalInputs.MaxTextLength + 1)), "'events[0].page_path' is 1001 characters long"),
                     (One("engagement_time_msec", "1500"), "'events[0].engagement_time_msec' must be a number or null (got a string)"),
                     (One("ecommerce_value", true), "'events[0].ecommerce_value' must be a number"),
                     (One("colour", "red"), "Unknown field 'events[0].colour'"),
                     (One("engagement_time_msec", JsonValue.Create(1e39)), "'events[0].engagement_time_msec' must be a finite number"),
                     (One("ga_session_number", JsonValue.Create(1e300)), "'events[0].ga_session_number' must be a finite number"),
                     ("""{"events": [{"name": "page_view", "engagement_time_msec": 1e400}]}""", "'events[0].engagement_time_msec' must be a finite number"),
                 })
        {
            var (badStatus, problem) = await PostAsync(server, "api/predict/next-event", body);
            Assert.Equal(HttpStatusCode.BadRequest, badStatus);
            Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        // Null is missing, as a field left out.
        var nulls = sessions[0].Input.Select(e => e.ToRequest(withSignals: false)).ToArray();
        foreach (var e in nulls)
        foreach (var field in SignalData.Set.Fields)
            e[Signals.Name(field)] = null;
        var (nullStatus, nullAnswer) = await PostAsync(server, "api/predict/next-event",
            new JsonObject { ["events"] = new JsonArray(nulls.Select(e => (JsonNode)e).ToArray()) }.ToJsonString());
        Assert.True(nullStatus == HttpStatusCode.OK, nullAnswer.ToString());
        AssertServedEqual(evaluatedMissing, 0, checkpoint.Vocabulary, nullAnswer.GetProperty("predictions")[0]);
    }

    [Fact]
    public async Task Raw_signals_are_encoded_as_the_readers_and_preparation_encode_them_obfuscated_missing_and_capped_values_too()
    {
        // Hand-written rows with every kind of value a reader meets: obfuscated (<Other>, (data deleted)), missing
        // ((not set), empty, null, absent), URLs with queries (bucketed), INT64 as strings, values past the cap.
        var folder = CustomerAnalysis.Testing.TestFolders.Create("ca-signal-encoding-");
        string[] pages = ["https://shop.example.com/Apparel/Shirts?utm=1#top", "https://shop.example.com/Bags", "(not set)", "", "https://other.example.org/?q=1", "/relative/path?x"];
        string?[] titles = ["Home", "  Home  ", "<Other>", "(data deleted)", null, "Checkout"];
        string?[] devices = ["mobile", "desktop", "(not set)", null, "tablet", "(other)"];
        string?[] countries = ["United States", "<Other>", "Germany", "India", "France", "(data deleted)"];
        var raw = new Dictionary<string, RawEvent[]>();
        var lines = new StringBuilder();
        for (var u = 0; u < 30; u++)
        {
            var user = $"u{u:D2}";
            var session = new List<RawEvent>();
            for (var i = 0; i < 3 + u % 4; i++)
            {
                var timestamp = 1_611_000_000_000_000L + u * 10_000_000_000L + i * 7_000_000L + u * 13;
                var name = i == 0 ? "session_start" : (u + i) % 3 == 0 ? "purchase" : "page_view";
                var page = pages[(u + i) % pages.Length];
                var title = titles[(u * 2 + i) % titles.Length];
                var engagement = (u + i) % 5 == 0 ? (long?)null : 100L * (u + 1) * (i + 1);
                // User fields that change within a session: a prepared sequence keeps its first event's.
                var device = devices[(u + i) % devices.Length];
                var country = countries[(u / 2 + i) % countries.Length];
                var row = new JsonObject
                {
                    ["event_timestamp"] = timestamp.ToString(CultureInfo.InvariantCulture), ["event_name"] = name,
                    ["event_params"] = new JsonArray(
                        new JsonObject { ["key"] = "ga_session_id", ["value"] = new JsonObject { ["int_value"] = (1000 + u).ToString(CultureInfo.InvariantCulture) } },
                        new JsonObject { ["key"] = "page_location", ["value"] = new JsonObject { ["string_value"] = page } },
                        new JsonObject { ["key"] = "page_title", ["value"] = title is null ? new JsonObject() : new JsonObject { ["string_value"] = title } },
                        new JsonObject { ["key"] = "engagement_time_msec", ["value"] = engagement is { } ms ? new JsonObject { ["int_value"] = ms.ToString(CultureInfo.InvariantCulture) } : new JsonObject() }),
                    ["user_pseudo_id"] = user,
                    ["device"] = new JsonObject { ["category"] = device },
                    ["geo"] = new JsonObject { ["country"] = country },
                    ["platform"] = "WEB",
                    ["ecommerce"] = name == "purchase" ? new JsonObject { ["purchase_revenue_in_usd"] = 12.5 * (u + 1) } : new JsonObject(),
                };
                lines.Append(row.ToJsonString()).Append('\n');
                var signals = new Dictionary<string, JsonNode> { ["page_path"] = page, ["platform"] = "WEB" };
                if (title is not null) signals["page_title"] = title;
                if (engagement is { } e) signals["engagement_time_msec"] = (double)e;
                if (device is not null) signals["device_category"] = device;
                signals["country"] = country!;
                if (name == "purchase") signals["ecommerce_value"] = 12.5 * (u + 1);
                session.Add(new RawEvent(user, 1000 + u, timestamp, name, signals));
            }
            raw[$"{user}:{1000 + u}"] = session.ToArray();
        }
        await File.WriteAllTextAsync(Path.Combine(folder, "events_20210119.json"), lines.ToString());
        var set = Signals.ParseList("page_path,page_title,engagement_time_msec,device_category,country,platform,ecommerce_value");
        var events = await EventSources.Open(folder, new EventSourceOptions { Signals = set }).ReadTableAsync();
        var dataset = DatasetPreparer.Prepare(events, PredictionTask.Events,
            // No last-days holdout: every session stays in the user splits this test walks.
            PrepareOptions.Default with { Signals = set, SignalVocabularySize = 2, HoldoutDays = 0 }, DatasetPreparer.DefaultProtocol);
        var encoding = dataset.Signals!;

        var all = dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).ToList();
        Assert.Equal(30, all.Count);
        var seen = new HashSet<int>();
        foreach (var example in all)
        {
            var input = raw[example.Id][..^1];
            var served = SignalInputs.Encode(encoding, input.Select(ToValues).ToArray(), input.Length);
            var prepared = example.Signals!;
            Assert.Equal(JsonSerializer.Serialize(prepared), JsonSerializer.Serialize(served));
            foreach (var tokens in prepared.Categorical) seen.UnionWith(tokens);
            seen.UnionWith(prepared.User);
        }
        // Every marker occurred: missing, obfuscated, a value past the cap, and real values.
        Assert.Superset(new HashSet<int> { SignalEncoding.Missing, SignalEncoding.Obfuscated, SignalEncoding.Other, SignalEncoding.Other + 1 }, seen);
    }

    /// <summary>A raw event's values as the API reads them from its JSON.</summary>
    internal static EventSignalValues ToValues(RawEvent e)
    {
        var texts = new Dictionary<SignalField, string>();
        var numbers = new Dictionary<SignalField, double>();
        foreach (var (name, value) in e.Signals)
        {
            Assert.True(Signals.TryParse(name, out var field));
            if (Signals.KindOf(field) == SignalKind.Numeric) numbers[field] = value.GetValue<double>();
            else texts[field] = value.GetValue<string>();
        }
        return new EventSignalValues(texts, numbers);
    }

    [Fact]
    public async Task A_names_only_model_ignores_signals_and_the_batcher_keeps_a_signals_models_results()
    {
        var data = await SignalData.GetAsync();
        var sessions = TestSessions(data, 24);
        SessionInput Input(RawEvent[] events, bool withSignals) => new(events.Select(e => e.Name).ToArray(),
            events.Select((e, i) => i == 0 ? 0.0 : (e.Timestamp - events[i - 1].Timestamp) / 1e6).ToArray(),
            withSignals ? events.Select(e => (EventSignalValues?)ToValues(e)).ToArray() : null);

        // Names only: the same answer with or without signals, and it says it read none.
        using (var namesOnly = new Predictor(ModelCheckpoint.Read(data.NamesOnlyCheckpoint)))
        {
            var plain = namesOnly.Predict(sessions.Select(s => Input(s.Input, false)).ToArray(), 3);
            var sent = namesOnly.Predict(sessions.Select(s => Input(s.Input, true)).ToArray(), 3);
            Assert.Equal(plain.Select(p => p.TopEvents), sent.Select(p => p.TopEvents));
            Assert.Empty(TorchModelLoader.For(namesOnly, new ServingOptions()).Signals.Fields);
        }

        // The dynamic batcher: calls queued behind a held pass share the next one and get what they would alone.
        using var predictor = new Predictor(ModelCheckpoint.Read(data.EventsCheckpoint));
        var release = new ManualResetEventSlim(false);
        var first = true;
        var batcher = new PredictionBatcher((batch, top) =>
        {
            if (first)
            {
                first = false;
                Assert.True(release.Wait(TimeSpan.FromSeconds(10)), "the test never released the first pass");
            }
            return predictor.Predict(batch, top);
        }) { MaxWait = TimeSpan.Zero };
        SessionInput[] Call(int call) => sessions.Skip(call * 2).Take(2).Select(s => Input(s.Input, withSignals: call % 3 != 2)).ToArray();
        var held = Task.Run(() => batcher.PredictAsync(Call(0), 3));
        while (batcher.Passes == 0) await Task.Delay(1);
        var queued = Enumerable.Range(1, 10).Select(call => batcher.PredictAsync(Call(call), 3)).ToArray();
        release.Set();
        var results = await Task.WhenAll(queued);
        await held;
        Assert.Equal(2, batcher.Passes);
        for (var call = 1; call <= 10; call++)
        {
            var alone = predictor.Predict(Call(call), 3);
            Assert.Equal(alone.Select(p => p.TopEvents.Select(e => e.Event)), results[call - 1].Select(p => p.TopEvents.Select(e => e.Event)));
            Assert.All(alone.Zip(results[call - 1]).SelectMany(p => p.First.TopEvents.Zip(p.Second.TopEvents)),
                p => Assert.Equal(p.First.Probability, p.Second.Probability, Tolerance));
        }
        release.Dispose();
    }

    [Fact]
    public async Task A_scoring_run_of_a_signals_model_reads_the_signals_and_scores_as_the_evaluator()
    {
        var data = await SignalData.GetAsync();
        using var scorer = new TorchBatchScorer();
        await using var server = await StartAsync(azurite, services =>
        {
            services.AddSingleton<IScoringShardReader>(new ExportScoringShardReader(new PipelineStorageOptions()));
            services.AddSingleton<IBatchScorer>(scorer);
        });
        var model = await PromoteAsync(server, "churn", "churn", data.ChurnCheckpoint);
        var body = JsonSerializer.Serialize(new { source = data.Export, task = "churn", shards = 2, run_id = "signals-1" });
        using var start = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/scoring", body));
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
        var statusUrl = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status_url").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement done;
        while (true)
        {
            using var status = await server.Http.SendAsync(ServerHarness.Get(statusUrl));
            done = await status.Content.ReadFromJsonAsync<JsonElement>();
            if (done.GetProperty("runtime_status").GetString() is "Completed" or "Failed" or "Terminated") break;
            Assert.True(DateTime.UtcNow < deadline, $"scoring still running: {done}");
            await Task.Delay(200);
        }
        Assert.True(done.GetProperty("runtime_status").GetString() == "Completed", done.ToString());

        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        await using var manifestStream = await artifacts.OpenReadAsync(ScoringNames.Manifest("signals-1"));
        using var manifestCopy = new MemoryStream();
        await manifestStream.CopyToAsync(manifestCopy);
        var manifest = ScoringManifest.Parse(manifestCopy.ToArray())!;
        Assert.Equal(model, manifest.Model);
        var scored = new Dictionary<string, double>();
        foreach (var part in manifest.Parts)
        {
            await using var csv = await artifacts.OpenReadAsync(part.Csv);
            using var reader = new StreamReader(csv);
            var header = (await reader.ReadLineAsync())!.Split(',');
            var probability = Array.IndexOf(header, "churn_probability");
            while (await reader.ReadLineAsync() is { Length: > 0 } line)
            {
                var cells = line.Split(',');
                scored[cells[0]] = double.Parse(cells[probability], CultureInfo.InvariantCulture);
            }
        }

        // Every user the training labels keep is scored, each with the evaluator's probability for their example
        // (the checkpoint's calibration is the identity): the scoring run read and encoded the signals as training.
        var checkpoint = ModelCheckpoint.Read(data.ChurnCheckpoint);
        using var churnModel = checkpoint.Model;
        var examples = data.Churn.Train.Concat(data.Churn.Validation).Concat(data.Churn.Test).Concat(data.Churn.ValidationRecent).ToArray();
        Assert.Equal(examples.Length, scored.Count);
        var evaluated = Trainer.Predict(checkpoint.Model, examples, checkpoint.Config.Init.MaxSequenceLength, 64);
        var missing = Trainer.Predict(checkpoint.Model,
            examples.Select(e => e with { Signals = AllMissing(checkpoint.Model.Signals!, e.Tokens.Length) }).ToArray(),
            checkpoint.Config.Init.MaxSequenceLength, 64);
        for (var i = 0; i < examples.Length; i++)
            Assert.Equal(evaluated.Probabilities[i], scored[examples[i].User], Tolerance);
        var moved = evaluated.Probabilities.Zip(missing.Probabilities).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(moved > 1e-3, $"signals moved the churn probabilities by {moved} at most");
    }
}
