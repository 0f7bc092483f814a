using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Serving.Scoring;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests.Scoring;

[Collection(AzuriteCollection.Name)]
public sealed class NightlyScoringTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task With_after_retraining_the_timer_starts_scoring_that_waits_for_the_retraining_to_end()
    {
        var export = await ScoringTestData.ExportAsync();
        var runner = new GatedTrialRunner();
        await using var server = await ServerHarness.StartAsync(azurite, services =>
        {
            services.AddSingleton<IDatasetPreparer, SyntheticPreparer>();
            services.AddSingleton<ITrialRunner>(runner);
            services.AddSingleton<IEvaluator, LookupEvaluator>();
            services.AddSingleton<IModelLoader, LookupModelLoader>();
            services.AddTorchBatchScoring();
        }, config => config with
        {
            Scoring = new() { AfterRetraining = true, Source = export, Tasks = ["churn"], WaitPollSeconds = 1 },
        });
        var artifacts = server.Server.Services.GetRequiredService<ArtifactStore>();
        var registry = server.Server.Services.GetRequiredService<ModelRegistry>();
        await artifacts.UploadFileAsync("models/churn.ckpt", await ScoringTestData.CheckpointAsync(PredictionTask.Churn));
        var version = await registry.RegisterAsync("churn", "r0", "churn", "models/churn.ckpt", new Dictionary<string, double>(), DateTimeOffset.UtcNow);
        await registry.PromoteAsync("churn", version.Version, null);
        var client = server.Server.Services.GetRequiredService<DurableTaskClient>();

        var training = Assert.Single(await server.Server.Services.GetRequiredService<RetrainingJob>().RunAsync(client, CancellationToken.None));

        await runner.Entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var scoring = await FindScoringAsync(client);
        // While the retraining trains, the scoring run waits.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await client.GetInstanceAsync(scoring, getInputsAndOutputs: true))?.ReadCustomStatusAs<ScoringProgress>()?.Stage != ScoringStages.WaitForTraining)
        {
            Assert.True(DateTime.UtcNow < deadline, "the scoring run never waited for the training run");
            await Task.Delay(200);
        }
        await Task.Delay(2500); // more than two polls
        Assert.Equal(ScoringStages.WaitForTraining, (await client.GetInstanceAsync(scoring, getInputsAndOutputs: true))!.ReadCustomStatusAs<ScoringProgress>()!.Stage);
        Assert.False(await artifacts.ExistsAsync(ScoringNames.Manifest(scoring)));

        runner.Release.SetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var trained = await client.WaitForInstanceCompletionAsync(training, timeout.Token);
        var scored = await client.WaitForInstanceCompletionAsync(scoring, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, scored.RuntimeStatus);
        Assert.True(scored.LastUpdatedAt >= trained.LastUpdatedAt);
        Assert.True(scored.ReadOutputAs<ScoringResult>()!.Rows > 0);
        Assert.True(await artifacts.ExistsAsync(ScoringNames.Manifest(scoring)));
    }

    private static async Task<string> FindScoringAsync(DurableTaskClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            await foreach (var instance in client.GetAllInstancesAsync(new OrchestrationQuery()))
                if (instance.Name == ScoringOrchestration.Name) return instance.InstanceId;
            Assert.True(DateTime.UtcNow < deadline, "no scoring run was started");
            await Task.Delay(200);
        }
    }
}
