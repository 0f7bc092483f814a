using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>Promotion against the baselines: a model that does not beat the best one is registered, held back and
/// not served, also as the first of its name.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class PromotionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_first_model_no_better_than_the_majority_baseline_is_registered_but_not_promoted()
    {
        await using var pipeline = await PipelineHarness.StartAsync(azurite);
        // num_layers 1: the lookup double's blind table, which is exactly the majority baseline (a tie never promotes).
        var done = await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 1 } }));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<TrainingResult>()!;
        Assert.False(result.Promoted);
        Assert.Null(result.Champion); // the first of its name: nothing in production to compare with
        Assert.StartsWith("test accuracy ", result.PromotionReason);
        Assert.Contains("does not beat the majority baseline", result.PromotionReason);
        Assert.Null(await pipeline.Registry.GetProductionAsync("next-event"));
        var version = (await pipeline.Registry.GetVersionAsync("next-event", result.ModelVersion))!;
        Assert.Equal(ModelStage.None, version.Stage);
        Assert.Equal(result.PromotionReason, version.HeldBack);
        var run = (await pipeline.Runs.GetRunAsync(result.RunId))!;
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.False(run.Promoted);
        Assert.Contains(result.PromotionReason, run.ResultJson); // the run's recorded result says why

        // A model that beats the baseline is promoted, and the reason says it beat it.
        var better = (await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 2 } })))
            .ReadOutputAs<TrainingResult>()!;
        Assert.True(better.Promoted, better.PromotionReason);
        Assert.Contains("beats the majority baseline", better.PromotionReason);
        Assert.Null((await pipeline.Registry.GetVersionAsync("next-event", better.ModelVersion))!.HeldBack);
    }

    public static TheoryData<string, double, bool, string> Decisions => new()
    {
        // metric, challenger score, promoted, words in the reason (baselines: majority and markov, below)
        { "accuracy", 0.65, false, "does not beat the markov baseline (0.7)" },    // beats majority only
        { "accuracy", 0.7, false, "does not beat the markov baseline (0.7)" },     // a tie is not better
        { "accuracy", 0.75, true, "beats the markov baseline (0.7); no production model" },
        { "log_loss", 1.1, false, "does not beat the markov baseline (1)" },        // lower is better: markov's 1.0 is best
        { "log_loss", 0.9, true, "beats the markov baseline (1)" },
        { "accuracy", double.NaN, false, "does not beat the markov baseline" },    // undefined never beats a number
        { "roc_auc", 0.51, true, "no baseline reports roc_auc" },                  // nothing to compare: not held back
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public async Task The_best_baseline_on_the_run_metric_decides(string metric, double score, bool promoted, string reason)
    {
        var storage = new PipelineStorage(new PipelineStorageOptions
        {
            ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("t"),
        });
        await storage.EnsureCreatedAsync();
        var registry = new ModelRegistry(storage);
        // An undefined metric is left out of the results (as the evaluation does), never stored as NaN.
        var metrics = double.IsNaN(score) ? [] : new Dictionary<string, double> { [metric] = score };
        var version = (await registry.RegisterAsync("m", "run1", "events", "b1", metrics, DateTimeOffset.UnixEpoch)).Version;
        var baselines = new Dictionary<string, IReadOnlyDictionary<string, double>>
        {
            ["majority"] = new Dictionary<string, double> { ["accuracy"] = 0.4, ["log_loss"] = 1.5 },
            ["markov"] = new Dictionary<string, double> { ["accuracy"] = 0.7, ["log_loss"] = 1.0 },
        };

        var output = await new PromoteActivity(registry, []).RunAsync(null!,
            new PromoteInput("m", version, metric, metrics, Champion: null, baselines));

        Assert.Equal(promoted, output.Promoted);
        Assert.Contains(reason, output.Reason);
        var record = (await registry.GetVersionAsync("m", version))!;
        Assert.Equal(promoted ? ModelStage.Production : ModelStage.None, record.Stage);
        Assert.Equal(promoted ? null : output.Reason, record.HeldBack);
    }
}
