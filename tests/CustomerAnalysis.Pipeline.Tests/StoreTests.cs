using System.Text;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Storage;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class StoreTests(AzuriteFixture azurite)
{
    private async Task<PipelineStorage> NewStorageAsync()
    {
        var storage = new PipelineStorage(new PipelineStorageOptions
        {
            ConnectionString = azurite.ConnectionString,
            NamePrefix = AzuriteFixture.UniqueName("t"),
        });
        await storage.EnsureCreatedAsync();
        return storage;
    }

    private static readonly Dictionary<string, double> Metrics = new() { ["accuracy"] = 0.5 };
    private static readonly StageChangeNote Note = new("test");

    [Fact]
    public async Task Every_stage_change_is_in_the_history_with_who_when_why_and_from_to()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var v1 = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);
        var v2 = await registry.RegisterAsync("m", "run2", "events", "b2", Metrics, DateTimeOffset.UnixEpoch);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        Assert.True((await registry.PromoteAsync("m", v1.Version, null)).Promoted); // the gate: system
        await registry.SetStageAsync("m", v2.Version, ModelStage.Staging, new StageChangeNote("alice via admin-key", "try it"));
        await registry.SetStageAsync("m", v2.Version, ModelStage.Production, new StageChangeNote("bob via admin-key", "better"));
        // Setting the stage a version has is no change: nothing recorded.
        await registry.SetStageAsync("m", v2.Version, ModelStage.Production, Note);
        await registry.SetStageAsync("m", v1.Version, ModelStage.Archived, Note);

        var versions = (await registry.ListAllAsync()).ToDictionary(v => v.Version);
        var first = versions[v1.Version].StageHistory;
        Assert.Equal([(ModelStage.None, ModelStage.Production, "system"), (ModelStage.Production, ModelStage.Archived, "bob via admin-key")],
            first.Select(c => (c.From, c.To, c.By)));
        Assert.Equal("replaced in production by version 2: better", first[1].Reason);
        var second = versions[v2.Version].StageHistory;
        Assert.Equal([(ModelStage.None, ModelStage.Staging, "alice via admin-key", "try it"), (ModelStage.Staging, ModelStage.Production, "bob via admin-key", "better")],
            second.Select(c => (c.From, c.To, c.By, c.Reason)));
        Assert.All(first.Concat(second), c => Assert.InRange(c.At, before, DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.True(second[0].At <= second[1].At);
        // The per-version read and the list agree, and history rows are not taken for versions.
        Assert.Equal(second, await registry.GetHistoryAsync("m", v2.Version));
        Assert.Equal(2, (await registry.ListVersionsAsync("m")).Count);
    }

    [Fact]
    public async Task Concurrent_stage_changes_and_promotions_leave_one_history_entry_per_change_that_took_effect()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var versions = new List<int>();
        for (var i = 1; i <= 3; i++)
            versions.Add((await registry.RegisterAsync("m", $"run{i}", "events", $"b{i}", Metrics, DateTimeOffset.UnixEpoch)).Version);
        var stages = Enum.GetValues<ModelStage>();
        var random = new Random(11);
        var conflicts = 0;
        for (var round = 0; round < 8; round++)
        {
            var changes = Enumerable.Range(0, 10).Select(i =>
            {
                var version = versions[random.Next(versions.Count)];
                var stage = stages[random.Next(stages.Length)];
                return i % 3 == 0
                    // The gate's path: compared against whatever production it last saw.
                    ? (Task)registry.PromoteAsync("m", version, random.Next(2) == 0 ? null : versions[random.Next(versions.Count)],
                        new StageChangeNote("gate", $"round {round}"))
                    : registry.SetStageAsync("m", version, stage, new StageChangeNote("hand", $"round {round}"));
            }).ToList();
            foreach (var change in changes)
            {
                try { await change; }
                catch (ConcurrencyConflictException) { conflicts++; }
            }
        }
        Assert.True(conflicts > 0, "no race happened");

        // Each version's history is a chain from None to its current stage: an entry lost or written twice (or one
        // of a change that lost its race) breaks it.
        var all = await registry.ListAllAsync();
        Assert.True(all.Sum(v => v.StageHistory.Count) > 5, "too few changes took effect to test anything");
        foreach (var v in all)
        {
            var stage = ModelStage.None;
            foreach (var change in v.StageHistory)
            {
                Assert.Equal(stage, change.From);
                Assert.NotEqual(change.From, change.To);
                stage = change.To;
            }
            Assert.Equal(v.Stage, stage);
        }
        Assert.True(all.Count(v => v.Stage == ModelStage.Production) <= 1);
    }

    [Fact]
    public async Task Two_concurrent_promotions_from_the_same_production_only_one_wins()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var v1 = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);
        var v2 = await registry.RegisterAsync("m", "run2", "events", "b2", Metrics, DateTimeOffset.UnixEpoch);

        // Both compared themselves against "no production yet".
        var results = await Task.WhenAll(
            registry.PromoteAsync("m", v1.Version, expectedProductionVersion: null),
            registry.PromoteAsync("m", v2.Version, expectedProductionVersion: null));

        Assert.Equal(1, results.Count(r => r.Promoted));
        var production = await registry.GetProductionAsync("m");
        var winner = results[0].Promoted ? v1.Version : v2.Version;
        Assert.Equal(winner, production!.Version);
        Assert.Contains(ModelRegistry.ChampionAlias, production.Aliases);
        var versions = await registry.ListVersionsAsync("m");
        Assert.Single(versions, v => v.Stage == ModelStage.Production);
    }

    [Fact]
    public async Task Promotion_archives_the_previous_production_and_moves_the_alias()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var v1 = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);
        var v2 = await registry.RegisterAsync("m", "run2", "events", "b2", Metrics, DateTimeOffset.UnixEpoch);
        Assert.True((await registry.PromoteAsync("m", v1.Version, null)).Promoted);

        var stale = await registry.PromoteAsync("m", v2.Version, expectedProductionVersion: null);
        Assert.False(stale.Promoted);
        Assert.Equal(v1.Version, stale.PreviousProductionVersion);

        Assert.True((await registry.PromoteAsync("m", v2.Version, v1.Version)).Promoted);
        var old = await registry.GetVersionAsync("m", v1.Version);
        Assert.Equal(ModelStage.Archived, old!.Stage);
        Assert.Empty(old.Aliases);
        Assert.Equal(v2.Version, (await registry.GetProductionAsync("m"))!.Version);
    }

    [Fact]
    public async Task Registering_the_same_run_twice_returns_one_version()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var first = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);
        var again = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);
        var other = await registry.RegisterAsync("m", "run2", "events", "b2", Metrics, DateTimeOffset.UnixEpoch);

        Assert.Equal(first.Version, again.Version);
        Assert.Equal(first.Version + 1, other.Version);
        Assert.Equal(2, (await registry.ListVersionsAsync("m")).Count);
    }

    [Fact]
    public async Task Setting_a_stage_by_hand_clears_production_and_rejects_unknown_versions()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var v1 = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);
        await registry.SetStageAsync("m", v1.Version, ModelStage.Production, Note);
        Assert.NotNull(await registry.GetProductionAsync("m"));

        var archived = await registry.SetStageAsync("m", v1.Version, ModelStage.Archived, Note);
        Assert.Equal(ModelStage.Archived, archived.Stage);
        Assert.Null(await registry.GetProductionAsync("m"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => registry.SetStageAsync("m", 99, ModelStage.Staging, Note));
    }

    [Fact]
    public async Task Model_names_keys_refuse_are_input_errors()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        foreach (var name in new[] { "a/b", "a#b", "a?b", "", new string('m', 65) })
        {
            var e = await Assert.ThrowsAsync<Core.InvalidInputException>(() =>
                registry.RegisterAsync(name, "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch));
            Assert.Contains("'name'", e.Message);
            await Assert.ThrowsAsync<Core.InvalidInputException>(() => registry.SetStageAsync(name, 1, ModelStage.Staging, Note));
        }
    }

    [Fact]
    public async Task Concurrent_stage_changes_that_lose_the_race_throw_a_concurrency_conflict()
    {
        var registry = new ModelRegistry(await NewStorageAsync());
        var v1 = await registry.RegisterAsync("m", "run1", "events", "b1", Metrics, DateTimeOffset.UnixEpoch);

        var conflicts = 0;
        for (var round = 0; round < 20 && conflicts == 0; round++)
        {
            var changes = Enumerable.Range(0, 12).Select(i =>
                registry.SetStageAsync("m", v1.Version, i % 2 == 0 ? ModelStage.Staging : ModelStage.Production, Note)).ToList();
            foreach (var change in changes)
            {
                // Anything but success or the dedicated conflict (e.g. the raw 412 transaction failure) fails here.
                try { await change; }
                catch (ConcurrencyConflictException) { conflicts++; }
            }
        }
        Assert.True(conflicts > 0, "no race happened in 20 rounds of 12 parallel changes");
    }

    [Fact]
    public async Task A_trial_written_twice_is_one_record_with_its_metrics()
    {
        var runs = new RunStore(await NewStorageAsync());
        var trial = new TrialRecord
        {
            RunId = "r1",
            TrialId = "t000",
            Params = new Dictionary<string, JsonElement> { ["lr"] = JsonSerializer.SerializeToElement(0.01) },
            Status = TrialStatus.Running,
            Attempts = 1,
        };
        await runs.UpsertTrialAsync(trial);
        await runs.UpsertTrialAsync(trial with
        {
            Status = TrialStatus.Succeeded,
            Attempts = 2,
            Epochs = [new EpochMetrics(1, new Dictionary<string, double> { ["loss"] = 1.5 })],
            ValidationMetrics = new Dictionary<string, double> { ["accuracy"] = 0.75 },
        });

        var stored = Assert.Single(await runs.ListTrialsAsync("r1"));
        Assert.Equal(TrialStatus.Succeeded, stored.Status);
        Assert.Equal(2, stored.Attempts);
        Assert.Equal(0.01, stored.Params["lr"].GetDouble());
        Assert.Equal(1.5, stored.Epochs.Single().Metrics["loss"]);
        Assert.Equal(0.75, stored.ValidationMetrics["accuracy"]);
    }

    [Fact]
    public async Task Runs_are_listed_newest_first_and_updated_in_place()
    {
        var runs = new RunStore(await NewStorageAsync());
        RunRecord Run(string id, int day) => new()
        {
            RunId = id, Source = "s", Task = "events", ModelName = "m",
            CreatedAt = DateTimeOffset.UnixEpoch.AddDays(day),
        };
        await runs.UpsertRunAsync(Run("old", 1));
        await runs.UpsertRunAsync(Run("new", 2));
        await runs.UpdateRunAsync("old", r => r with { Status = RunStatus.Completed, Stage = "done" });

        var listed = await runs.ListRunsAsync();
        Assert.Equal(["new", "old"], listed.Select(r => r.RunId));
        Assert.Equal(RunStatus.Completed, listed[1].Status);
        Assert.Null(await runs.GetRunAsync("missing"));
    }

    [Fact]
    public async Task Artifacts_are_named_by_run_and_trial_and_listed_by_prefix()
    {
        var artifacts = new ArtifactStore(await NewStorageAsync());
        await artifacts.UploadAsync(ArtifactNames.Checkpoint("r1", "t001"), new MemoryStream("w"u8.ToArray()));
        await artifacts.UploadAsync(ArtifactNames.Plot("r1", "t001", "loss.png"), new MemoryStream("p"u8.ToArray()));
        await artifacts.UploadAsync(ArtifactNames.Checkpoint("r1", "t002"), new MemoryStream("x"u8.ToArray()));

        Assert.Equal(["runs/r1/trials/t001/checkpoint.bin", "runs/r1/trials/t001/plots/loss.png"],
            await artifacts.ListAsync(ArtifactNames.TrialFolder("r1", "t001")));
        await using var read = await artifacts.OpenReadAsync(ArtifactNames.Checkpoint("r1", "t002"));
        Assert.Equal("x", await new StreamReader(read, Encoding.UTF8).ReadToEndAsync());
        await Assert.ThrowsAsync<FileNotFoundException>(() => artifacts.OpenReadAsync("runs/none/dataset.json.gz"));
    }
}
