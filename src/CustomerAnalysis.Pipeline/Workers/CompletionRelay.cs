using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Workers;

/// <summary>Turns a completion message into the external event its orchestration waits for. Azure: a queue-triggered
/// function calls it; the local host: <see cref="CompletionListener"/>.</summary>
public static class CompletionRelay
{
    public static async Task RelayAsync(DurableTaskClient client, WorkCompletion completion, CancellationToken cancellationToken)
    {
        // A run that no longer exists (purged) or has ended ignores the event; raising it is harmless.
        var instance = await client.GetInstanceAsync(completion.RunId, cancellationToken);
        if (instance is null || instance.IsCompleted) return;
        await client.RaiseEventAsync(completion.RunId, WorkEvents.Name(completion.WorkId), completion, cancellationToken);
    }
}

/// <summary>The local host's relay: polls the completion queue and raises each completion as its run's event.</summary>
public sealed class CompletionListener(WorkQueues queues, DurableTaskClient client, TimeProvider clock,
    ILogger<CompletionListener> log) : BackgroundService
{
    // Every trial's completion waits up to this before its orchestration hears of it (loopback polls are cheap).
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idle = TimeSpan.FromMilliseconds(10);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var message = await queues.ReceiveCompletionAsync(stoppingToken);
                if (message is null)
                {
                    await Task.Delay(idle, clock, stoppingToken);
                    idle = TimeSpan.FromTicks(Math.Min(idle.Ticks * 2, MaxPollInterval.Ticks));
                    continue;
                }
                idle = TimeSpan.FromMilliseconds(10);
                await CompletionRelay.RelayAsync(client, WorkQueues.ParseCompletion(message.Body.ToString()), stoppingToken);
                await queues.DeleteCompletionAsync(message, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The message reappears after its visibility timeout; the orchestration's record check covers a loss.
                log.LogWarning("Completion relay: {Error}", e.Message);
                await Task.Delay(MaxPollInterval, clock, stoppingToken);
            }
        }
    }
}
