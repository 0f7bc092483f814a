using CustomerAnalysis.Pipeline;
using CustomerAnalysis.Pipeline.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace CustomerAnalysis.Functions;

/// <summary>The HTTP API as Functions: same routes (prefix <c>api</c>) and JSON as <c>ca serve</c>, handled by the
/// shared <see cref="PipelineApi"/>. Admin routes use Functions keys; predictions are anonymous unless the config
/// closes them, in which case they need the configured admin key like locally (Key Vault, <c>CA__api__admin_key</c>);
/// with none configured they refuse (503), never falling back to a known key.</summary>
public sealed class ApiFunctions(PipelineApi api, PipelineConfig config)
{
    [Function("StartTraining")]
    public async Task<IActionResult> StartTraining(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "training")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.StartTrainingAsync(request, client)));

    [Function("GetTraining")]
    public async Task<IActionResult> GetTraining(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "training/{id}")] HttpRequest request, string id,
        [DurableClient] DurableTaskClient client) =>
        new HttpResultAction(await PipelineApi.RunAsync(() =>
            api.GetTrainingAsync(id, client, request.HttpContext.RequestAborted)));

    [Function("CancelTraining")]
    public async Task<IActionResult> CancelTraining(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "training/{id}/cancel")] HttpRequest request, string id,
        [DurableClient] DurableTaskClient client) =>
        new HttpResultAction(await PipelineApi.RunAsync(() =>
            api.CancelTrainingAsync(id, client, request.HttpContext.RequestAborted)));

    [Function("ListRuns")]
    public async Task<IActionResult> ListRuns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs")] HttpRequest request) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.ListRunsAsync(request.HttpContext.RequestAborted)));

    [Function("ListModels")]
    public async Task<IActionResult> ListModels(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models")] HttpRequest request) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.ListModelsAsync(request.HttpContext.RequestAborted)));

    [Function("ChangeStage")]
    public async Task<IActionResult> ChangeStage(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "models/{name}/versions/{version}/stage")]
        HttpRequest request, string name, string version) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => api.ChangeStageAsync(name, version, request)));

    [Function("PredictNextEvent")]
    public async Task<IActionResult> PredictNextEvent(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "predict/next-event")] HttpRequest request) =>
        new HttpResultAction(Refused(request) ?? await PipelineApi.RunAsync(() => api.PredictNextEventAsync(request)));

    [Function("PredictChurn")]
    public async Task<IActionResult> PredictChurn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "predict/churn")] HttpRequest request) =>
        new HttpResultAction(Refused(request) ?? await PipelineApi.RunAsync(() => api.PredictChurnAsync(request)));

    private IResult? Refused(HttpRequest request) =>
        config.Api.PredictionsOpen ? null : api.AdminKeyRefusal(request)?.ToResult();
}

/// <summary>Runs a minimal-API <see cref="IResult"/> (what the shared handlers return) as an MVC action result
/// (what Functions' ASP.NET Core integration executes).</summary>
public sealed class HttpResultAction(IResult result) : IActionResult
{
    public IResult Result { get; } = result;

    public Task ExecuteResultAsync(ActionContext context) => Result.ExecuteAsync(context.HttpContext);
}
