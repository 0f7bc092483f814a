using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Serving.Scoring;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests.Scoring;

/// <summary>Scoring runs through the HTTP API on the local Durable engine and Azurite, with the real shard reader and
/// the TorchSharp batch scorer.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ScoringApiTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _local = Directory.CreateTempSubdirectory("ca-scoring-api-").FullName;

    public void Dispose() => Directory.Delete(_local, recursive: true);

    private static Task<ServerHarness> StartAsync(AzuriteFixture azurite, CrashingReader reader, CrashingScorer scorer) =>
        ServerHarness.StartAsync(azurite, services =>
        {
            services.AddSingleton<ITrialRunner>(new LookupTrialRunner());
            services.AddSingleton<IEvaluator, LookupEvaluator>();
            services.AddSingleton<IModelLoader, LookupModelLoader>();
            services.AddSingleton<IScoringShardReader>(reader);
            services.AddSingleton<IBatchScorer>(scorer);
        });

    /// <summary>Registers the test checkpoint as production version 1 of 'churn'.</summary>
    private static async Task<ScoringModel> RegisterChurnModelAsync(ServerHarness server)
    {
        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        var registry = server.Server.Services.GetRequiredService<ModelRegistry>();
        const string blob = "runs/r1/trials/t000/checkpoint.bin";
        await artifacts.UploadFileAsync(blob, await ScoringTestData.CheckpointAsync(PredictionTask.Churn));
        var version = await registry.RegisterAsync("churn", "r1", "churn", blob, new Dictionary<string, double>(), DateTimeOffset.UtcNow);
        Assert.True((await registry.PromoteAsync("churn", version.Version, null)).Promoted);
        return new ScoringModel("churn", version.Version, blob);
    }

    private static async Task<JsonElement> ScoreAsync(ServerHarness server, string body)
    {
        using var start = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/scoring", body));
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
        var statusUrl = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status_url").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var status = await server.Http.SendAsync(ServerHarness.Get(statusUrl));
            var json = await status.Content.ReadFromJsonAsync<JsonElement>();
            var runtime = json.GetProperty("runtime_status").GetString();
            if (runtime is "Completed" or "Failed" or "Terminated") return json;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Scoring still {runtime}: {json}");
            await Task.Delay(200);
        }
    }

    private static async Task<Dictionary<string, byte[]>> BlobsAsync(ArtifactStore artifacts, string runId)
    {
        var blobs = new Dictionary<string, byte[]>();
        foreach (var name in await artifacts.ListAsync(ScoringNames.Folder(runId)))
        {
            await using var stream = await artifacts.OpenReadAsync(name);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            blobs[name] = copy.ToArray();
        }
        return blobs;
    }

    [Fact]
    public async Task A_scoring_run_writes_parts_manifest_and_lookups_survives_crashed_shards_and_a_rerun_changes_nothing()
    {
        var export = await ScoringTestData.ExportAsync();
        var reader = new CrashingReader(crashingShard: 1);
        var scorer = new CrashingScorer(crashingShard: 2);
        await using var server = await StartAsync(azurite, reader, scorer);
        var model = await RegisterChurnModelAsync(server);
        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        var body = JsonSerializer.Serialize(new { source = export, task = "churn", shards = 3, run_id = "nightly-1" });

        var done = await ScoreAsync(server, body);

        Assert.True(done.GetProperty("runtime_status").GetString() == "Completed", done.ToString());
        // Shard 1's read and shard 2's scoring each crashed once and were retried.
        Assert.Equal([1, 2, 1], reader.Attempts);
        Assert.Equal([1, 1, 2], scorer.Attempts);
        var progress = done.GetProperty("progress");
        Assert.Equal((3, 3, 3), (progress.GetProperty("shards_read").GetInt32(), progress.GetProperty("shards_scored").GetInt32(),
            progress.GetProperty("shards_total").GetInt32()));
        var blobs = await BlobsAsync(artifacts, "nightly-1");
        var manifest = ScoringManifest.Parse(blobs[ScoringNames.Manifest("nightly-1")])!;
        Assert.Equal(model, manifest.Model);
        Assert.Equal([0, 1, 2], manifest.Parts.Select(p => p.Shard));
        foreach (var part in manifest.Parts)
            Assert.True(blobs.ContainsKey(part.Parquet) && blobs.ContainsKey(part.Csv), part.ToString());

        // The users the training labels keep, each scored once.
        var events = await EventSources.Open(export).ReadTableAsync();
        var dataset = DatasetPreparer.Prepare(events, PredictionTask.Churn, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
        var labelled = dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).Select(e => e.User).ToHashSet();
        Assert.Equal(labelled.Count, manifest.Rows);

        // The parts are exactly what the same run in one process writes (the crashes changed nothing).
        using var localScorer = new TorchBatchScorer();
        var local = await FolderScoring.RunAsync(localScorer, new FolderScoring.Request(EventSources.Open(export),
            export, PredictionTask.Churn, PrepareOptions.Default, 3, await ScoringTestData.CheckpointAsync(PredictionTask.Churn),
            model, 3, "nightly-1", manifest.Created, _local));
        Assert.Equal(local.Counts, manifest.Counts);
        foreach (var part in manifest.Parts)
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_local, ScorePartFiles.CsvName(part.Shard))), blobs[part.Csv]);

        // Lookups: a scored user's latest score is their row; a bounced user has none.
        var firstRow = System.Text.Encoding.UTF8.GetString(blobs[manifest.Parts[0].Csv]).Split('\n')[1].Split(',');
        using var lookup = await server.Http.SendAsync(ServerHarness.Get($"api/scores/churn/{Uri.EscapeDataString(firstRow[0])}"));
        Assert.Equal(HttpStatusCode.OK, lookup.StatusCode);
        var score = (await lookup.Content.ReadFromJsonAsync<ScoreLookup>())!;
        Assert.Equal((firstRow[0], "nightly-1", 1), (score.User, score.ScoringRun, score.Model.Version));
        Assert.Equal(double.Parse(firstRow[4], System.Globalization.CultureInfo.InvariantCulture), score.ChurnProbability);
        Assert.Equal(bool.Parse(firstRow[5]), score.Churned);
        var unscored = events.Users.First(u => !labelled.Contains(u));
        using (var missing = await server.Http.SendAsync(ServerHarness.Get($"api/scores/churn/{Uri.EscapeDataString(unscored)}")))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        }

        // Re-running the run id changes nothing: same blobs byte for byte, same lookups.
        var again = await ScoreAsync(server, body);
        Assert.Equal("Completed", again.GetProperty("runtime_status").GetString());
        Assert.Equal([2, 2, 2], scorer.Attempts.Select((a, k) => a - (k == 2 ? 1 : 0)));
        var blobsAgain = await BlobsAsync(artifacts, "nightly-1");
        Assert.Equal(blobs.Keys.Order(), blobsAgain.Keys.Order());
        foreach (var (name, bytes) in blobs) Assert.True(bytes.AsSpan().SequenceEqual(blobsAgain[name]), name);
        using var lookupAgain = await server.Http.SendAsync(ServerHarness.Get($"api/scores/churn/{Uri.EscapeDataString(firstRow[0])}"));
        Assert.Equal(score, await lookupAgain.Content.ReadFromJsonAsync<ScoreLookup>(), new LookupComparer());
    }

    [Fact]
    public async Task Bad_scoring_requests_are_problems_naming_what_is_wrong()
    {
        await using var server = await StartAsync(azurite, new CrashingReader(-1), new CrashingScorer(-1));
        var export = await ScoringTestData.ExportAsync();

        async Task Refused(HttpRequestMessage request, HttpStatusCode status, string named)
        {
            using var response = await server.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(named, text);
        }
        string Body(object body) => JsonSerializer.Serialize(body);

        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = export, task = "churn", when = 1 })),
            HttpStatusCode.BadRequest, "when");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = export, task = "clicks" })),
            HttpStatusCode.BadRequest, "'task'");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { task = "churn" })),
            HttpStatusCode.BadRequest, "'source'");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = export, task = "churn", shards = 0 })),
            HttpStatusCode.BadRequest, "shards");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = export, task = "churn", run_id = "../x" })),
            HttpStatusCode.BadRequest, "run_id");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = "/no/such/export", task = "churn" })),
            HttpStatusCode.BadRequest, "/no/such/export");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = export, task = "churn" })),
            HttpStatusCode.NotFound, "no production version");
        await Refused(ServerHarness.Json(HttpMethod.Post, "api/scoring", Body(new { source = export, task = "churn" }), withKey: false),
            HttpStatusCode.Unauthorized, "x-api-key");
        await Refused(ServerHarness.Get("api/scoring/nope"), HttpStatusCode.NotFound, "nope");
        await Refused(ServerHarness.Get("api/scores/bad!name/u1"), HttpStatusCode.BadRequest, "bad!name");
        await Refused(ServerHarness.Get("api/scores/churn/u1"), HttpStatusCode.NotFound, "u1");
    }

    private sealed class LookupComparer : IEqualityComparer<ScoreLookup?>
    {
        public bool Equals(ScoreLookup? a, ScoreLookup? b) => a is not null && b is not null
            && a with { TopEvents = [] } == b with { TopEvents = [] } && a.TopEvents.SequenceEqual(b.TopEvents);

        public int GetHashCode(ScoreLookup? obj) => obj?.User.GetHashCode(StringComparison.Ordinal) ?? 0;
    }

    internal sealed class CrashingReader(int crashingShard) : IScoringShardReader
    {
        private readonly ExportScoringShardReader _inner = new(new PipelineStorageOptions());
        public int[] Attempts { get; } = new int[3];

        public Task<ScoringShard> ReadAsync(string source, PredictionTask task, PrepareOptions options, UserShard shard,
            CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref Attempts[shard.Index]) == 1 && shard.Index == crashingShard)
                throw new IOException($"shard {shard} lost its machine");
            return _inner.ReadAsync(source, task, options, shard, cancellationToken);
        }
    }

    internal sealed class CrashingScorer(int crashingShard) : IBatchScorer, IDisposable
    {
        public void Dispose() => _inner.Dispose();

        private readonly TorchBatchScorer _inner = new();
        public int[] Attempts { get; } = new int[3];

        public Task<PredictionTask> TaskOfAsync(string checkpointPath, CancellationToken cancellationToken) =>
            _inner.TaskOfAsync(checkpointPath, cancellationToken);

        public Task<SignalSet> SignalsOfAsync(string checkpointPath, CancellationToken cancellationToken) =>
            _inner.SignalsOfAsync(checkpointPath, cancellationToken);

        public Task<IReadOnlyList<UserScore>> ScoreAsync(string checkpointPath, ScoringShard shard, IReadOnlyList<int> members,
            int top, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref Attempts[shard.Shard]) == 1 && shard.Shard == crashingShard)
                throw new IOException($"shard {shard.Shard} lost its machine while scoring");
            return _inner.ScoreAsync(checkpointPath, shard, members, top, cancellationToken);
        }
    }
}
