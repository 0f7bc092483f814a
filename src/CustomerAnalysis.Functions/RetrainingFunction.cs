using CustomerAnalysis.Pipeline.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace CustomerAnalysis.Functions;

/// <summary>Timer-triggered retraining on the <c>RetrainingCron</c> app setting (six-field cron, as in
/// config/pipeline.json): starts a run unless one is active.</summary>
public sealed class RetrainingFunction(RetrainingJob job)
{
    [Function("Retraining")]
    public async Task Run([TimerTrigger("%RetrainingCron%")] TimerInfo timer, [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        await job.RunAsync(client, cancellationToken);
}
