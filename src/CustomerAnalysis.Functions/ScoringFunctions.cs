using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Scoring;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Functions;

/// <summary>The scoring orchestration, its activities and its HTTP routes as Functions: thin wrappers over the shared
/// classes in CustomerAnalysis.Pipeline (the nightly run is started by the retraining timer's job).</summary>
public sealed class ScoringFunctions(IServiceProvider services, ScoringApi api)
{
    [Function(ScoringOrchestration.Name)]
    public static Task<ScoringResult> Score([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new ScoringOrchestration().RunAsync(context, context.GetInput<ScoringInput>()
            ?? throw new InvalidOperationException("The scoring orchestration was started without input."));

    [Function(ReadScoringShardActivity.Name)]
    public Task<ScoringShardReference> ReadScoringShard([ActivityTrigger] ReadScoringShardInput input, FunctionContext context) =>
        Create<ReadScoringShardActivity>().RunAsync(new FunctionActivityContext(ReadScoringShardActivity.Name, context), input);

    [Function(ScoreShardActivity.Name)]
    public Task<ScoredPart> ScoreShard([ActivityTrigger] ScoreShardInput input, FunctionContext context) =>
        Create<ScoreShardActivity>().RunAsync(new FunctionActivityContext(ScoreShardActivity.Name, context), input);

    [Function(WriteScoringManifestActivity.Name)]
    public Task<ScoringResult> WriteScoringManifest([ActivityTrigger] WriteScoringManifestInput input, FunctionContext context) =>
        Create<WriteScoringManifestActivity>().RunAsync(new FunctionActivityContext(WriteScoringManifestActivity.Name, context), input);

    [Function(TrainingActiveActivity.Name)]
    public Task<bool> TrainingActive([ActivityTrigger] string input, FunctionContext context) =>
        Create<TrainingActiveActivity>().RunAsync(new FunctionActivityContext(TrainingActiveActivity.Name, context), input);

    [Function("StartScoring")]
    public async Task<IActionResult> StartScoring(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "scoring")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.StartScoringAsync(request, client)));

    [Function("GetScoring")]
    public async Task<IActionResult> GetScoring(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "scoring/{id}")] HttpRequest request, string id,
        [DurableClient] DurableTaskClient client) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.GetScoringAsync(id, client, request.HttpContext.RequestAborted)));

    [Function("GetScore")]
    public async Task<IActionResult> GetScore(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "scores/{model}/{user}")] HttpRequest request, string model,
        string user) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.GetScoreAsync(model, user, request.HttpContext.RequestAborted)));

    private T Create<T>() => ActivatorUtilities.CreateInstance<T>(services);
}
