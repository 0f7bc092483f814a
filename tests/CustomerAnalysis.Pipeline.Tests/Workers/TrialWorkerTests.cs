using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Hosting;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Pipeline.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Tests.Workers;

/// <summary>The trial worker on its own, against real Azure Storage queues (Azurite): leases, poison, completions.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TrialWorkerTests(AzuriteFixture azurite)
{
    private sealed class SlowRunner(TimeSpan duration) : ITrialRunner
    {
        private readonly LookupTrialRunner _inner = new();
        public int Runs => _inner.Runs;

        public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
        {
            await Task.Delay(duration, cancellationToken);
            return await _inner.RunAsync(request, cancellationToken);
        }
    }

    /// <summary>The lookup model, plus an asha rung at epoch 1 on the run's rung record (the Table one the worker
    /// passes), scored by the trial's learning rate: the pipeline's side of asha without TorchSharp.</summary>
    private sealed class RungRunner : ITrialRunner
    {
        private readonly LookupTrialRunner _inner = new();

        public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
        {
            var result = await _inner.RunAsync(request, cancellationToken);
            var score = request.Params["learning_rate"].GetDouble();
            var scores = await request.Rungs!.ReportAsync(request.RunId, 1, request.TrialId, score, cancellationToken);
            return Core.Configuration.Asha.GoesOn(scores, score, higherIsBetter: true, reductionFactor: 2)
                ? result
                : result with { StoppedAtEpoch = 1 };
        }
    }

    /// <summary>Reports <paramref name="epochs"/> epochs at once (each a progress write queued behind the others),
    /// then fails for good: bad input, not retried.</summary>
    private sealed class FailingAfterEpochsRunner(int epochs) : ITrialRunner
    {
        public Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
        {
            for (var epoch = 1; epoch <= epochs; epoch++)
                request.OnEpoch!(new EpochMetrics(epoch, new Dictionary<string, double> { ["train_loss"] = 1.0 / epoch }));
            throw new InvalidInputException("the trial's input is bad");
        }
    }

    /// <summary>Reports <paramref name="epochs"/> epochs, then trains on until cancelled.</summary>
    private sealed class CancelledAfterEpochsRunner(int epochs) : ITrialRunner
    {
        public TaskCompletionSource Reported { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
        {
            for (var epoch = 1; epoch <= epochs; epoch++)
                request.OnEpoch!(new EpochMetrics(epoch, new Dictionary<string, double> { ["train_loss"] = 1.0 / epoch }));
            Reported.SetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("not reached");
        }
    }

    private sealed record Setup(PipelineStorageOptions Storage, RunStore Runs, WorkQueues Queues, TrialInput Trial);

    private async Task<Setup> SetupAsync()
    {
        var storage = new PipelineStorageOptions { ConnectionString = azurite.ConnectionString, NamePrefix = AzuriteFixture.UniqueName("w") };
        var pipelineStorage = new PipelineStorage(storage);
        await pipelineStorage.EnsureCreatedAsync();
        var runs = new RunStore(pipelineStorage);
        var artifacts = new ArtifactStore(pipelineStorage);
        var runId = "r-worker";
        await runs.UpsertRunAsync(new RunRecord { RunId = runId, Status = RunStatus.Running, Source = "synthetic:200", Task = "events", ModelName = "m" });
        var dataset = await new SyntheticPreparer().PrepareAsync("synthetic:200", PredictionTask.Events, new PrepareOptions(), CancellationToken.None);
        using (var buffer = new MemoryStream())
        {
            await DatasetBlobFormat.WriteAsync(dataset, buffer);
            buffer.Position = 0;
            await artifacts.UploadAsync(ArtifactNames.Dataset(runId), buffer);
        }
        var trial = new TrialInput(runId, "t000", ArtifactNames.Dataset(runId), PipelineHarness.ModelConfigJson(new { }),
            new Dictionary<string, JsonElement> { ["num_layers"] = JsonSerializer.SerializeToElement(2) }, Seed: 1);
        return new Setup(storage, runs, new WorkQueues(pipelineStorage), trial);
    }

    private static async Task<IHost> StartWorkerAsync(Setup setup, ITrialRunner runner, TrialWorkerOptions options)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(runner).AddSingleton<IEvaluator, LookupEvaluator>()
            .AddTrialWorker(setup.Storage, options);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<WorkCompletion> NextCompletionAsync(WorkQueues queues)
    {
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (true)
        {
            if (await queues.ReceiveCompletionAsync(CancellationToken.None) is { } message)
                return WorkQueues.ParseCompletion(message.Body.ToString());
            Assert.True(DateTime.UtcNow < deadline, "No completion was reported.");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_trial_longer_than_its_lease_keeps_it_and_runs_once()
    {
        var setup = await SetupAsync();
        var runner = new SlowRunner(TimeSpan.FromSeconds(7));
        using var worker = await StartWorkerAsync(setup, runner,
            new TrialWorkerOptions { Lease = TimeSpan.FromSeconds(2), CancellationCheckInterval = TimeSpan.FromMilliseconds(300) });
        await setup.Queues.EnqueueAsync(WorkItem.ForTrial(setup.Trial));

        var completion = await NextCompletionAsync(setup.Queues);
        await worker.StopAsync();

        Assert.True(completion.Succeeded, completion.Error);
        Assert.Equal("t000", completion.WorkId);
        // Renewed every ~0.7 s for 7 s: never visible to anyone else, so one delivery, one run, attempt 1.
        Assert.Equal(1, runner.Runs);
        var record = await setup.Runs.GetTrialAsync("r-worker", "t000");
        Assert.Equal((TrialStatus.Succeeded, 1), (record!.Status, record.Attempts));
        Assert.Equal(0, await setup.Queues.PendingWorkAsync());
    }

    [Fact]
    public async Task A_trial_below_the_others_at_a_rung_is_recorded_stopped_not_failed_with_its_model()
    {
        var setup = await SetupAsync();
        using var worker = await StartWorkerAsync(setup, new RungRunner(), new TrialWorkerOptions());
        var completions = new List<WorkCompletion>();
        foreach (var (trialId, rate) in new[] { ("t000", 0.02), ("t001", 0.001), ("t002", 0.05) })
        {
            // One after another, so the order they reach the rung is fixed.
            await setup.Queues.EnqueueAsync(WorkItem.ForTrial(setup.Trial with
            {
                TrialId = trialId,
                Params = new Dictionary<string, JsonElement> { ["learning_rate"] = JsonSerializer.SerializeToElement(rate) },
            }));
            completions.Add(await NextCompletionAsync(setup.Queues));
        }
        await worker.StopAsync();

        Assert.All(completions, c => Assert.True(c.Succeeded, c.Error));
        Assert.Equal([null, 1, null], completions.Select(c => c.Trial!.StoppedAtEpoch));
        var trials = (await setup.Runs.ListTrialsAsync("r-worker")).OrderBy(t => t.TrialId, StringComparer.Ordinal).ToArray();
        Assert.Equal(["t000", "t001", "t002"], trials.Select(t => t.TrialId)); // the rung rows are not trials
        Assert.Equal([TrialStatus.Succeeded, TrialStatus.Stopped, TrialStatus.Succeeded], trials.Select(t => t.Status));
        Assert.Equal(1, trials[1].StoppedAtEpoch);
        Assert.NotNull(trials[1].CheckpointBlob);
        Assert.Null(trials[1].Error);
        Assert.True(trials[1].IsFinished);
        // The rung holds each trial's score once.
        Assert.Equal([0.001, 0.02, 0.05, 0.5], (await setup.Runs.ReportRungAsync("r-worker", 1, "t009", 0.5)).Order());
    }

    [Fact]
    public async Task A_trial_whose_workers_keep_dying_is_recorded_failed_after_the_allowed_attempts()
    {
        var setup = await SetupAsync();
        await setup.Queues.EnqueueAsync(WorkItem.ForTrial(setup.Trial));
        // Three workers take it and die (they never renew, finish or delete): each time it comes back.
        for (var death = 0; death < 3; death++)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await setup.Queues.ReceiveWorkAsync(TimeSpan.FromSeconds(1), CancellationToken.None) is null)
            {
                Assert.True(DateTime.UtcNow < deadline, "The item did not come back after its lease.");
                await Task.Delay(100);
            }
        }

        var runner = new LookupTrialRunner();
        using var worker = await StartWorkerAsync(setup, runner, new TrialWorkerOptions { MaxAttempts = 3 });
        var completion = await NextCompletionAsync(setup.Queues);
        await worker.StopAsync();

        Assert.False(completion.Succeeded);
        Assert.Contains("gave up after 3 attempts", completion.Error);
        Assert.Equal(0, runner.Runs); // the fourth delivery is not run again
        var record = await setup.Runs.GetTrialAsync("r-worker", "t000");
        Assert.Equal(TrialStatus.Failed, record!.Status);
        Assert.Contains("gave up after 3 attempts", record.Error);
        Assert.Equal(0, await setup.Queues.PendingWorkAsync());
    }

    [Fact]
    public async Task A_failed_trial_stays_failed_after_its_last_progress_write()
    {
        var setup = await SetupAsync();
        using var worker = await StartWorkerAsync(setup, new FailingAfterEpochsRunner(40), new TrialWorkerOptions());
        await setup.Queues.EnqueueAsync(WorkItem.ForTrial(setup.Trial));

        var completion = await NextCompletionAsync(setup.Queues);
        Assert.False(completion.Succeeded);
        // The 40 progress writes were still queued when the trial failed; had one landed after the failed record,
        // the trial would read "running" for good (a cancelled one did, in CI).
        await Task.Delay(1000);
        await worker.StopAsync();
        var record = await setup.Runs.GetTrialAsync("r-worker", "t000");
        Assert.Equal(TrialStatus.Failed, record!.Status);
        Assert.Contains("the trial's input is bad", record.Error);
        // The failed record keeps the epochs the trial reported (it once was the record the attempt started with).
        Assert.Equal(Enumerable.Range(1, 40), record.Epochs.Select(e => e.Epoch));
        Assert.Equal(1.0 / 40, record.Epochs[^1].Metrics["train_loss"]);
    }

    [Fact]
    public async Task A_cancelled_trial_keeps_the_epochs_it_reported()
    {
        var setup = await SetupAsync();
        var runner = new CancelledAfterEpochsRunner(3);
        using var worker = await StartWorkerAsync(setup, runner,
            new TrialWorkerOptions { CancellationCheckInterval = TimeSpan.FromMilliseconds(200) });
        await setup.Queues.EnqueueAsync(WorkItem.ForTrial(setup.Trial));
        await runner.Reported.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await setup.Runs.UpdateRunAsync("r-worker", r => r with { Status = RunStatus.Cancelled });

        var deadline = DateTime.UtcNow.AddSeconds(20);
        TrialRecord? record;
        while ((record = await setup.Runs.GetTrialAsync("r-worker", "t000"))?.Status != TrialStatus.Cancelled)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The trial was not recorded cancelled: {record?.Status}");
            await Task.Delay(100);
        }
        await worker.StopAsync();
        record = await setup.Runs.GetTrialAsync("r-worker", "t000");
        Assert.Equal(TrialStatus.Cancelled, record!.Status);
        Assert.Equal([1, 2, 3], record.Epochs.Select(e => e.Epoch));
        Assert.Equal(0, await setup.Queues.PendingWorkAsync());
    }

    [Fact]
    public async Task Work_of_a_run_that_ended_is_dropped_unrun()
    {
        var setup = await SetupAsync();
        await setup.Runs.UpdateRunAsync("r-worker", r => r with { Status = RunStatus.Failed });
        await setup.Queues.EnqueueAsync(WorkItem.ForTrial(setup.Trial));
        var runner = new LookupTrialRunner();
        using var worker = await StartWorkerAsync(setup, runner, new TrialWorkerOptions());

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await setup.Runs.GetTrialAsync("r-worker", "t000"))?.Status != TrialStatus.Cancelled)
        {
            Assert.True(DateTime.UtcNow < deadline, "The trial of the failed run was not dropped.");
            await Task.Delay(100);
        }
        await worker.StopAsync();
        Assert.Equal(0, runner.Runs);
        Assert.Equal(0, await setup.Queues.PendingWorkAsync());
    }
}
