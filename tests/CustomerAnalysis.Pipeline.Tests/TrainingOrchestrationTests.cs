using CustomerAnalysis.Pipeline.Workers;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class TrainingOrchestrationTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_run_trains_every_grid_point_records_failures_and_promotes_the_best()
    {
        await using var pipeline = await PipelineHarness.StartAsync(azurite);

        var done = await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 1, 2 }, learning_rate = new[] { 0.001, LookupTrialRunner.FailingLearningRate } }));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<TrainingResult>()!;
        Assert.True(result.Promoted, result.PromotionReason);
        Assert.Equal(2, result.TrialsSucceeded);
        Assert.Equal(2, result.TrialsFailed);
        Assert.True(result.Test["accuracy"] > result.Baselines["majority"]["accuracy"]);

        var trials = await pipeline.Runs.ListTrialsAsync(result.RunId);
        Assert.Equal(["t000", "t001", "t002", "t003"], trials.Select(t => t.TrialId));
        Assert.All(trials.Where(t => t.Params["learning_rate"].GetDouble() >= LookupTrialRunner.FailingLearningRate), t =>
        {
            Assert.Equal(TrialStatus.Failed, t.Status);
            Assert.Equal(3, t.Attempts); // retried with back-off, then recorded as failed
        });
        var best = trials.Single(t => t.TrialId == result.BestTrialId);
        Assert.Equal(2, best.Params["num_layers"].GetInt32());
        Assert.Equal(TrialStatus.Succeeded, best.Status);
        Assert.Single(best.Epochs);

        Assert.Equal(
            [ArtifactNames.Checkpoint(result.RunId, best.TrialId), ArtifactNames.Plot(result.RunId, best.TrialId, "loss.svg")],
            await pipeline.Artifacts.ListAsync(ArtifactNames.TrialFolder(result.RunId, best.TrialId)));
        Assert.True(await pipeline.Artifacts.ExistsAsync(ArtifactNames.Evaluation(result.RunId)));

        var run = await pipeline.Runs.GetRunAsync(result.RunId);
        Assert.Equal(RunStatus.Completed, run!.Status);
        Assert.Equal(result.ModelVersion, run.ModelVersion);
        Assert.NotNull(run.CompletedAt);
        var production = await pipeline.Registry.GetProductionAsync("next-event");
        Assert.Equal(result.ModelVersion, production!.Version);

        var status = done.ReadCustomStatusAs<TrainingProgress>()!;
        Assert.Equal(TrainingStages.Done, status.Stage);
        Assert.Equal((4, 4, 2), (status.TrialsTotal, status.TrialsDone, status.TrialsFailed));
    }

    [Fact]
    public async Task Trials_are_ranked_on_their_selection_score_and_the_result_carries_both_validation_splits()
    {
        await using var pipeline = await PipelineHarness.StartAsync(azurite,
            services => services.AddSingleton<ITrialRunner, RecentSplitTrialRunner>());

        var done = await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 1, 2 } }));

        var result = done.ReadOutputAs<TrainingResult>()!;
        var trials = await pipeline.Runs.ListTrialsAsync(result.RunId);
        // The last-event table (num_layers 2) has the better accuracy on the users' split, but the blind one has the
        // better selection score (what validation_selection combines): the run picks the blind one.
        var best = trials.Single(t => t.TrialId == result.BestTrialId);
        Assert.Equal(1, best.Params["num_layers"].GetInt32());
        Assert.True(trials.Single(t => t.TrialId != result.BestTrialId).ValidationMetrics["accuracy"] > best.ValidationMetrics["accuracy"]);
        Assert.Equal(best.ValidationMetrics, result.Validation);
        Assert.Contains(TrialResult.RecentPrefix + "accuracy", result.Validation.Keys);
        Assert.Contains(TrialResult.SelectionScoreKey, result.Validation.Keys);
    }

    /// <summary>The lookup trial with a val_recent score and a selection score that prefer the weaker table.</summary>
    private sealed class RecentSplitTrialRunner : ITrialRunner
    {
        private readonly LookupTrialRunner _inner = new();

        public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
        {
            var result = await _inner.RunAsync(request, cancellationToken);
            var accuracy = result.ValidationMetrics["accuracy"];
            return result with
            {
                ValidationMetrics = new Dictionary<string, double>(result.ValidationMetrics)
                {
                    [TrialResult.RecentPrefix + "accuracy"] = 1 - accuracy,
                    [TrialResult.SelectionScoreKey] = 1 - accuracy,
                },
            };
        }
    }

    [Fact]
    public async Task A_worse_second_run_is_registered_but_does_not_replace_production()
    {
        await using var pipeline = await PipelineHarness.StartAsync(azurite);
        var first = (await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 2 } })))
            .ReadOutputAs<TrainingResult>()!;
        var second = (await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 1 } })))
            .ReadOutputAs<TrainingResult>()!;

        Assert.True(first.Promoted);
        Assert.False(second.Promoted);
        // Each run evaluates its challenger with the baselines; the champion is scored without them.
        var evaluator = (LookupEvaluator)pipeline.Host.Services.GetRequiredService<IEvaluator>();
        Assert.Equal((2, 1), (evaluator.Evaluations, evaluator.ModelScorings));
        Assert.Equal(first.ModelVersion, second.Champion!.Version);
        Assert.Contains("does not beat", second.PromotionReason);
        Assert.Equal(first.ModelVersion, (await pipeline.Registry.GetProductionAsync("next-event"))!.Version);
        Assert.Equal(ModelStage.None, (await pipeline.Registry.GetVersionAsync("next-event", second.ModelVersion))!.Stage);
    }

    [Fact]
    public async Task A_challenger_whose_test_metric_is_undefined_is_registered_not_promoted_and_the_run_completes()
    {
        var evaluator = new MetricDroppingEvaluator();
        await using var pipeline = await PipelineHarness.StartAsync(azurite,
            services => services.AddSingleton<IEvaluator>(evaluator));
        var first = (await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 2 } })))
            .ReadOutputAs<TrainingResult>()!;

        // The evaluation drops an undefined (NaN) metric from its results, as the real one does.
        evaluator.DropAccuracy = true;
        var done = await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 2 } }));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var second = done.ReadOutputAs<TrainingResult>()!;
        Assert.False(second.Promoted);
        Assert.Contains("does not beat", second.PromotionReason);
        Assert.Equal(first.ModelVersion, (await pipeline.Registry.GetProductionAsync("next-event"))!.Version);
        Assert.Equal(ModelStage.None, (await pipeline.Registry.GetVersionAsync("next-event", second.ModelVersion))!.Stage);
        Assert.Equal(RunStatus.Completed, (await pipeline.Runs.GetRunAsync(second.RunId))!.Status);
    }

    [Fact]
    public async Task A_bad_source_fails_the_run_after_one_prepare_attempt()
    {
        var preparer = new CountingPreparer();
        await using var pipeline = await PipelineHarness.StartAsync(azurite,
            services => services.AddSingleton<IDatasetPreparer>(preparer));

        var done = await pipeline.RunToEndAsync(PipelineHarness.Input(new { num_layers = new[] { 2 } }, source: "no-such-source"));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        Assert.Equal(1, preparer.Attempts); // InvalidInputException is permanent: not retried
        var run = await pipeline.Runs.GetRunAsync(done.InstanceId);
        Assert.Equal(RunStatus.Failed, run!.Status);
        Assert.Contains("no-such-source", run.Error);
    }

    /// <summary>The synthetic preparer, counting its calls.</summary>
    private sealed class CountingPreparer : IDatasetPreparer
    {
        private readonly SyntheticPreparer _inner = new();
        private int _attempts;
        public int Attempts => _attempts;

        public void CheckSource(string source) => _inner.CheckSource(source);

        public Task<Core.Preparation.PreparedDataset> PrepareAsync(string source, Core.Preparation.PredictionTask task,
            Core.Preparation.PrepareOptions options, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            return _inner.PrepareAsync(source, task, options, cancellationToken);
        }
    }

    /// <summary>The lookup evaluator, leaving out <c>accuracy</c> once <see cref="DropAccuracy"/> is set.</summary>
    private sealed class MetricDroppingEvaluator : IEvaluator
    {
        private readonly LookupEvaluator _inner = new();
        public volatile bool DropAccuracy;

        public async Task<EvaluationResult> EvaluateAsync(Core.Preparation.PreparedDataset dataset, string checkpointPath,
            string? artifactsDirectory, CancellationToken cancellationToken)
        {
            var result = await _inner.EvaluateAsync(dataset, checkpointPath, artifactsDirectory, cancellationToken);
            return DropAccuracy
                ? result with { TestMetrics = result.TestMetrics.Where(m => m.Key != "accuracy").ToDictionary() }
                : result;
        }

        public async Task<IReadOnlyDictionary<string, double>> ScoreModelAsync(Core.Preparation.PreparedDataset dataset,
            string checkpointPath, CancellationToken cancellationToken)
        {
            var metrics = await _inner.ScoreModelAsync(dataset, checkpointPath, cancellationToken);
            return DropAccuracy ? metrics.Where(m => m.Key != "accuracy").ToDictionary() : metrics;
        }
    }

    [Fact]
    public async Task A_run_whose_trials_all_fail_fails_and_says_so()
    {
        await using var pipeline = await PipelineHarness.StartAsync(azurite);
        var done = await pipeline.RunToEndAsync(PipelineHarness.Input(new { learning_rate = new[] { LookupTrialRunner.FailingLearningRate } }));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, done.RuntimeStatus);
        var run = await pipeline.Runs.GetRunAsync(done.InstanceId);
        Assert.Equal(RunStatus.Failed, run!.Status);
        Assert.Contains("All 1 trials failed", run.Error);
        Assert.Null(await pipeline.Registry.GetProductionAsync("next-event"));
    }

    [Fact]
    public async Task A_trial_that_runs_twice_trains_once_and_leaves_one_record()
    {
        await using var pipeline = await PipelineHarness.StartAsync(azurite);
        var runId = "r-twice";
        await pipeline.Runs.UpsertRunAsync(new RunRecord { RunId = runId, Source = "synthetic:100", Task = "events", ModelName = "m" });
        var prepare = new PrepareDatasetActivity(new SyntheticPreparer(), pipeline.Artifacts, pipeline.Runs, pipeline.StorageOptions);
        var context = new DirectActivityContext(runId);
        var dataset = await prepare.RunAsync(context, new PrepareInput(runId, "synthetic:100", Core.Preparation.PredictionTask.Events, new()));
        var again = await prepare.RunAsync(context, new PrepareInput(runId, "synthetic:100", Core.Preparation.PredictionTask.Events, new()));
        Assert.Equal(dataset, again);

        // Dispatched twice (an activity retried after a crash): the worker trains it once, the duplicate only reports.
        var dispatch = new DispatchTrialActivity(pipeline.Services.GetRequiredService<WorkQueues>(), pipeline.Runs, TimeProvider.System);
        var input = new TrialInput(runId, "t000", dataset.Blob, PipelineHarness.ModelConfigJson(new { }),
            new Dictionary<string, JsonElement> { ["num_layers"] = JsonSerializer.SerializeToElement(2) }, Seed: 42);
        Assert.True(await dispatch.RunAsync(context, input));
        Assert.True(await dispatch.RunAsync(context, input));
        var queues = pipeline.Services.GetRequiredService<WorkQueues>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await pipeline.Runs.GetTrialAsync(runId, "t000"))?.Status != TrialStatus.Succeeded
               || await queues.PendingWorkAsync() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The worker did not finish the trial.");
            await Task.Delay(100);
        }
        // Once it has succeeded, dispatching it again queues nothing.
        Assert.False(await dispatch.RunAsync(context, input));

        Assert.Equal(1, pipeline.Runner.Runs);
        var record = Assert.Single(await pipeline.Runs.ListTrialsAsync(runId));
        Assert.Equal(1, record.Attempts);
        Assert.Equal(TrialStatus.Succeeded, record.Status);
    }

    private sealed class DirectActivityContext(string instanceId) : Microsoft.DurableTask.TaskActivityContext
    {
        public override Microsoft.DurableTask.TaskName Name => "test";
        public override string InstanceId => instanceId;
    }
}
