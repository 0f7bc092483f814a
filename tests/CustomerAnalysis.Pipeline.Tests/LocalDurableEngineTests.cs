using CustomerAnalysis.LocalHost;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class LocalDurableEngineTests(AzuriteFixture azurite)
{
    private sealed class SquareActivity : TaskActivity<int, int>
    {
        public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input * input);
    }

    private sealed class SumOfSquaresOrchestrator : TaskOrchestrator<int[], int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int[] input)
        {
            var squares = await Task.WhenAll(input.Select(n =>
                context.CallActivityAsync<int>(nameof(SquareActivity), n)));
            return squares.Sum();
        }
    }

    [Fact]
    public async Task Fan_out_fan_in_orchestration_completes_on_azurite()
    {
        await using var host = await EngineHost.StartAsync(
            new LocalDurableEngineOptions
            {
                StorageConnectionString = azurite.ConnectionString,
                TaskHubName = AzuriteFixture.UniqueName("hub"),
            },
            tasks => tasks.AddActivity<SquareActivity>().AddOrchestrator<SumOfSquaresOrchestrator>());

        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(
            nameof(SumOfSquaresOrchestrator), new[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(204, done.ReadOutputAs<int>());
    }

    [Fact]
    public async Task A_host_stopped_right_after_it_started_stops_cleanly_and_leaves_no_history()
    {
        // Stopping before the engine finished starting used to crash the whole process from a background callback.
        var hub = AzuriteFixture.UniqueName("hub");
        var options = new LocalDurableEngineOptions { StorageConnectionString = azurite.ConnectionString, TaskHubName = hub };
        await (await EngineHost.StartAsync(options, _ => { })).DisposeAsync();

        await using var again = await EngineHost.StartAsync(options, _ => { });
        await foreach (var instance in again.Client.GetAllInstancesAsync())
            Assert.Fail($"Unexpected instance {instance.InstanceId} ({instance.Name}) left in the task hub.");
    }

    [Fact]
    public async Task Invalid_task_hub_name_is_rejected_with_its_rule()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => EngineHost.StartAsync(
            new LocalDurableEngineOptions { TaskHubName = "bad-name" }, _ => { }));
        Assert.Contains("bad-name", e.Message);
    }
}
