using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Pipeline.Workers;
using Microsoft.DurableTask.Client;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Functions;

/// <summary>The training orchestration and its activities as Durable Functions: each wrapper hands its trigger input
/// to the shared class in CustomerAnalysis.Pipeline. Function names are the names the orchestrator calls.</summary>
public sealed class TrainingFunctions(IServiceProvider services)
{
    [Function(TrainingOrchestration.Name)]
    public static Task<TrainingResult> Train([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new TrainingOrchestration().RunAsync(context, context.GetInput<TrainingInput>()
            ?? throw new InvalidOperationException("The training orchestration was started without input."));

    [Function(PrepareDatasetActivity.Name)]
    public Task<DatasetReference> PrepareDataset([ActivityTrigger] PrepareInput input, FunctionContext context) =>
        Create<PrepareDatasetActivity>().RunAsync(new FunctionActivityContext(PrepareDatasetActivity.Name, context), input);

    [Function(PrepareShardActivity.Name)]
    public Task<ShardReference> PrepareShard([ActivityTrigger] PrepareShardInput input, FunctionContext context) =>
        Create<PrepareShardActivity>().RunAsync(new FunctionActivityContext(PrepareShardActivity.Name, context), input);

    [Function(MergeShardsActivity.Name)]
    public Task<DatasetReference> MergeShards([ActivityTrigger] MergeShardsInput input, FunctionContext context) =>
        Create<MergeShardsActivity>().RunAsync(new FunctionActivityContext(MergeShardsActivity.Name, context), input);

    [Function(DispatchTrialActivity.Name)]
    public Task<bool> DispatchTrial([ActivityTrigger] TrialInput input, FunctionContext context) =>
        Create<DispatchTrialActivity>().RunAsync(new FunctionActivityContext(DispatchTrialActivity.Name, context), input);

    [Function(DispatchEvaluationActivity.Name)]
    public Task<bool> DispatchEvaluation([ActivityTrigger] EvaluateInput input, FunctionContext context) =>
        Create<DispatchEvaluationActivity>().RunAsync(new FunctionActivityContext(DispatchEvaluationActivity.Name, context), input);

    [Function(CheckWorkActivity.Name)]
    public Task<IReadOnlyList<WorkCompletion>> CheckWork([ActivityTrigger] CheckWorkInput input, FunctionContext context) =>
        Create<CheckWorkActivity>().RunAsync(new FunctionActivityContext(CheckWorkActivity.Name, context), input);

    /// <summary>The completion relay: a trial worker's report becomes the event its orchestration waits for. The
    /// queue is <c>{name_prefix}-trial-done</c>, named by the <c>TrialDoneQueue</c> app setting.</summary>
    [Function("RelayWorkCompletion")]
    public static Task RelayCompletion([QueueTrigger("%TrialDoneQueue%")] string message, [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        CompletionRelay.RelayAsync(client, WorkQueues.ParseCompletion(message), cancellationToken);

    [Function(RegisterActivity.Name)]
    public Task<int> Register([ActivityTrigger] RegisterInput input, FunctionContext context) =>
        Create<RegisterActivity>().RunAsync(new FunctionActivityContext(RegisterActivity.Name, context), input);

    [Function(PromoteActivity.Name)]
    public Task<PromoteOutput> Promote([ActivityTrigger] PromoteInput input, FunctionContext context) =>
        Create<PromoteActivity>().RunAsync(new FunctionActivityContext(PromoteActivity.Name, context), input);

    [Function(UpdateRunActivity.Name)]
    public Task<bool> UpdateRun([ActivityTrigger] RunUpdate input, FunctionContext context) =>
        Create<UpdateRunActivity>().RunAsync(new FunctionActivityContext(UpdateRunActivity.Name, context), input);

    private T Create<T>() => ActivatorUtilities.CreateInstance<T>(services);
}

/// <summary>The activity context the shared activities expect, from a Functions invocation.</summary>
internal sealed class FunctionActivityContext(string name, FunctionContext context) : TaskActivityContext
{
    public override TaskName Name => name;

    public override string InstanceId =>
        context.BindingContext.BindingData.TryGetValue("instanceId", out var id) ? id?.ToString() ?? "" : "";
}
