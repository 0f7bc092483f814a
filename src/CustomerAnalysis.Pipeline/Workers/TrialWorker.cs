using Azure;
using Azure.Storage.Queues.Models;
using CustomerAnalysis.Core;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Workers;

/// <summary>How a trial worker takes and holds work (<c>workers</c> in config/pipeline.json).</summary>
public sealed record TrialWorkerOptions
{
    /// <summary>How long a taken item stays invisible to other workers; renewed every third of it while the item is
    /// worked on, so only a dead worker's items reappear (after at most this long).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Deliveries of one item before it is recorded failed for good (poison).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Longest one attempt may take; then it is recorded failed (not retried: it would time out again).</summary>
    public TimeSpan TrialTimeout { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Longest wait between polls of an empty queue (polls start fast and back off to this). It is the
    /// latency an idle worker adds to a dispatched trial; ten empty polls a second cost a few cents a day in Azure,
    /// and a Container Apps job execution exits when idle anyway.</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a working worker checks whether the item's run was cancelled or ended.</summary>
    public TimeSpan CancellationCheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Stop the process after the queue has been empty this long (a Container Apps job execution); null:
    /// keep polling until stopped.</summary>
    public TimeSpan? ExitWhenIdle { get; init; }

    /// <summary>Names this worker in trial records.</summary>
    public string Name { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}";
}

/// <summary>
/// The trial worker: takes one item at a time from the trial queue, trains or evaluates it (<see cref="WorkExecutor"/>),
/// keeps its lease while working, and reports the outcome on the completion queue. The entrypoint of the worker
/// container (CustomerAnalysis.TrialWorker) and of the local worker processes; tests also run it in-process.
/// </summary>
public sealed class TrialWorker(WorkQueues queues, WorkExecutor executor, RunStore runs, ArtifactStore artifacts,
    TrialWorkerOptions options,
    TimeProvider clock, ILogger<TrialWorker> log, IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = TimeSpan.FromMilliseconds(20);
        var idleSince = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage? message;
            try
            {
                message = await queues.ReceiveWorkAsync(options.Lease, stoppingToken);
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException)
            {
                log.LogWarning("Trial queue unreachable ({Error}); retrying", e.Message);
                message = null;
                idle = options.MaxPollInterval;
            }
            if (message is null)
            {
                if (options.ExitWhenIdle is { } limit && clock.GetUtcNow() - idleSince >= limit)
                {
                    log.LogInformation("No work for {Idle}: the worker exits", limit);
                    lifetime?.StopApplication();
                    return;
                }
                await Task.Delay(idle, clock, stoppingToken);
                idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, options.MaxPollInterval.Ticks));
                continue;
            }
            idle = TimeSpan.FromMilliseconds(20);
            try
            {
                await HandleAsync(message, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Shutting down: the item's lease runs out and another worker takes it.
                return;
            }
            catch (Exception e)
            {
                // Storage trouble while recording: the item reappears after its lease and is tried again.
                log.LogError(e, "Work item {MessageId} could not be handled", message.MessageId);
            }
            idleSince = clock.GetUtcNow(); // idle time counts from the end of the last item
        }
    }

    private async Task HandleAsync(QueueMessage message, CancellationToken stoppingToken)
    {
        using var lease = new Lease(queues, message, options.Lease);
        WorkItem item;
        try
        {
            item = WorkQueues.ParseWork(message);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            log.LogError("Dropping a work item that is not one ({Error})", e.Message);
            await lease.DeleteAsync(stoppingToken);
            return;
        }

        var run = await runs.GetRunAsync(item.RunId, stoppingToken);
        if (run is null || run.Status is RunStatus.Cancelled or RunStatus.Failed or RunStatus.Completed)
        {
            // Nobody waits for it: the run is gone, cancelled or over. Its trials are not to burn compute.
            if (item.Trial is { } orphan)
                await MarkCancelledAsync(orphan.RunId, orphan.TrialId, orphan.Params, stoppingToken);
            await lease.DeleteAsync(stoppingToken);
            return;
        }

        var completion = item.Kind == WorkKind.Trial
            ? await TrainAsync(item.Trial!, lease, (int)message.DequeueCount, stoppingToken)
            : await EvaluateAsync(item.Evaluation!, lease, (int)message.DequeueCount, stoppingToken);
        if (completion is null) return; // to be retried: the lease was shortened to the back-off
        await queues.CompleteAsync(completion, stoppingToken);
        await lease.DeleteAsync(stoppingToken);
    }

    private async Task<WorkCompletion?> TrainAsync(TrialInput input, Lease lease, int attempt, CancellationToken stoppingToken)
    {
        var existing = await runs.GetTrialAsync(input.RunId, input.TrialId, stoppingToken);
        if (existing is { IsFinished: true })
            return CheckWorkActivity.FromRecord(existing); // a redelivery of finished work: report it again, do nothing else
        if (attempt > options.MaxAttempts)
            return await GiveUpAsync(input, existing, stoppingToken);

        var running = new TrialRecord
        {
            RunId = input.RunId,
            TrialId = input.TrialId,
            Params = input.Params,
            Status = TrialStatus.Running,
            Attempts = attempt,
            UpdatedAt = clock.GetUtcNow(),
            Worker = options.Name,
        };
        await runs.UpsertTrialAsync(running, stoppingToken);
        var progress = executor.StartProgress(running);
        var outcome = await WorkAsync(input.RunId, lease, token => executor.TrainAsync(input, progress, token), stoppingToken);
        switch (outcome)
        {
            case { Result: { } result }:
                return new WorkCompletion { RunId = input.RunId, WorkId = input.TrialId, Succeeded = true, Trial = result };
            case { Cancelled: true }:
                // With the epochs it ran (written as they ended; the record must not lose them).
                await runs.UpsertTrialAsync(running with
                {
                    Status = TrialStatus.Cancelled, Epochs = progress.Epochs, Error = "the run was cancelled", UpdatedAt = clock.GetUtcNow(),
                }, CancellationToken.None);
                await lease.DeleteAsync(stoppingToken);
                return null;
        }
        var error = outcome.Error!;
        var final = outcome.Permanent || attempt >= options.MaxAttempts;
        log.LogWarning("Trial {RunId}/{TrialId} attempt {Attempt} failed{Final}: {Error}", input.RunId, input.TrialId,
            attempt, final ? " for good" : "", error);
        // Not final: back on the queue (to any worker) after a back-off, recorded as queued with the error so far.
        await runs.UpsertTrialAsync(running with
        {
            Status = final ? TrialStatus.Failed : TrialStatus.Queued,
            Epochs = progress.Epochs,
            Error = final && !outcome.Permanent ? $"failed {attempt} times; last error: {error}" : error,
            UpdatedAt = clock.GetUtcNow(),
        }, CancellationToken.None);
        if (final)
            return new WorkCompletion { RunId = input.RunId, WorkId = input.TrialId, Succeeded = false, Error = error };
        await lease.RetryAfterAsync(Backoff(attempt), stoppingToken);
        return null;
    }

    private async Task<WorkCompletion?> EvaluateAsync(EvaluationWork work, Lease lease, int attempt, CancellationToken stoppingToken)
    {
        if (await FinishedEvaluation.ReadAsync(artifacts, work.RunId, stoppingToken) is { } finished)
            return new WorkCompletion { RunId = work.RunId, WorkId = WorkEvents.EvaluationId, Succeeded = true, Evaluation = finished };
        if (attempt > options.MaxAttempts)
            return new WorkCompletion
            {
                RunId = work.RunId, WorkId = WorkEvents.EvaluationId, Succeeded = false,
                Error = $"the evaluation was delivered {attempt - 1} times without finishing",
            };
        var outcome = await WorkAsync(work.RunId, lease, token => executor.EvaluateAsync(work, token), stoppingToken);
        if (outcome.Result is { } result)
            return new WorkCompletion { RunId = work.RunId, WorkId = WorkEvents.EvaluationId, Succeeded = true, Evaluation = result };
        if (outcome.Cancelled)
        {
            await lease.DeleteAsync(stoppingToken);
            return null;
        }
        if (outcome.Permanent || attempt >= options.MaxAttempts)
            return new WorkCompletion { RunId = work.RunId, WorkId = WorkEvents.EvaluationId, Succeeded = false, Error = outcome.Error };
        await lease.RetryAfterAsync(Backoff(attempt), stoppingToken);
        return null;
    }

    private sealed record Outcome<T>(T? Result, bool Cancelled, string? Error, bool Permanent);

    /// <summary>Runs <paramref name="work"/> while renewing the lease, watching the run for cancellation and
    /// enforcing the timeout.</summary>
    private async Task<Outcome<T>> WorkAsync<T>(string runId, Lease lease, Func<CancellationToken, Task<T>> work,
        CancellationToken stoppingToken) where T : class
    {
        using var cancelled = new CancellationTokenSource();
        using var timeout = new CancellationTokenSource(options.TrialTimeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, cancelled.Token, timeout.Token);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var watcher = WatchAsync(runId, lease, cancelled, watching.Token);
        try
        {
            return new Outcome<T>(await work(linked.Token), false, null, false);
        }
        catch (OperationCanceledException) when (cancelled.IsCancellationRequested)
        {
            return new Outcome<T>(null, true, null, false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new Outcome<T>(null, false, $"timed out after {options.TrialTimeout}", true);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // Bad input fails the same way every time: no retry (as the orchestration's own retry policy).
            return new Outcome<T>(null, false, e.Message, e is InvalidInputException);
        }
        finally
        {
            await watching.CancelAsync();
            await watcher;
        }
    }

    /// <summary>Renews the lease every third of it and checks the run every <see cref="TrialWorkerOptions.CancellationCheckInterval"/>.</summary>
    private async Task WatchAsync(string runId, Lease lease, CancellationTokenSource cancelled, CancellationToken stop)
    {
        var renewEvery = options.Lease / 3;
        var lastRenewal = clock.GetUtcNow();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(Min(options.CancellationCheckInterval, renewEvery), clock, stop);
                if (clock.GetUtcNow() - lastRenewal >= renewEvery)
                {
                    await lease.RenewAsync(stop);
                    lastRenewal = clock.GetUtcNow();
                }
                var run = await runs.GetRunAsync(runId, stop);
                if (run is null || run.Status is RunStatus.Cancelled or RunStatus.Failed)
                {
                    await cancelled.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException)
        {
            // A lost lease means another worker may take the item; this attempt still finishes and records once.
            log.LogWarning("Lease or run check failed for run {RunId}: {Error}", runId, e.Message);
        }
    }

    private async Task<WorkCompletion> GiveUpAsync(TrialInput input, TrialRecord? existing, CancellationToken stoppingToken)
    {
        // Delivered more often than allowed without a recorded end: its workers died mid-trial each time.
        var error = $"gave up after {options.MaxAttempts} attempts" + (existing?.Error is { } last ? $"; last error: {last}" : "");
        await runs.UpsertTrialAsync(new TrialRecord
        {
            RunId = input.RunId, TrialId = input.TrialId, Params = input.Params, Status = TrialStatus.Failed,
            Attempts = existing?.Attempts ?? options.MaxAttempts, Error = error, UpdatedAt = clock.GetUtcNow(),
            Worker = existing?.Worker,
        }, stoppingToken);
        return new WorkCompletion { RunId = input.RunId, WorkId = input.TrialId, Succeeded = false, Error = error };
    }

    private async Task MarkCancelledAsync(string runId, string trialId,
        IReadOnlyDictionary<string, System.Text.Json.JsonElement> parameters, CancellationToken cancellationToken)
    {
        var existing = await runs.GetTrialAsync(runId, trialId, cancellationToken);
        if (existing is { IsFinished: true }) return;
        await runs.UpsertTrialAsync((existing ?? new TrialRecord { RunId = runId, TrialId = trialId, Params = parameters }) with
        {
            Status = TrialStatus.Cancelled, Error = "the run ended before this trial ran", UpdatedAt = clock.GetUtcNow(),
        }, cancellationToken);
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, attempt - 1)));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>A taken message's pop receipt, which each renewal replaces.</summary>
    private sealed class Lease(WorkQueues queues, QueueMessage message, TimeSpan duration) : IDisposable
    {
        public void Dispose() => _gate.Dispose();

        private string _receipt = message.PopReceipt;
        private readonly SemaphoreSlim _gate = new(1, 1);

        public Task RenewAsync(CancellationToken cancellationToken) => UpdateAsync(duration, cancellationToken);

        /// <summary>Makes the item visible again after <paramref name="delay"/> (to any worker).</summary>
        public Task RetryAfterAsync(TimeSpan delay, CancellationToken cancellationToken) => UpdateAsync(delay, cancellationToken);

        public async Task DeleteAsync(CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                await queues.DeleteWorkAsync(message, _receipt, cancellationToken);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // Already deleted, or the lease was lost and another worker holds it: that worker finishes it.
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task UpdateAsync(TimeSpan visibility, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                _receipt = await queues.RenewAsync(message, _receipt, visibility, cancellationToken);
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
