using CustomerAnalysis.Pipeline.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace CustomerAnalysis.Functions;

/// <summary>The artifact routes (<see cref="ArtifactsApi"/>) as Functions, keyed like the other admin routes.</summary>
public sealed class ArtifactFunctions(ArtifactsApi artifacts)
{
    [Function("ListArtifacts")]
    public async Task<IActionResult> ListArtifacts(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{run}/artifacts")] HttpRequest request,
        string run) =>
        new HttpResultAction(await PipelineApi.RunAsync(() => artifacts.ListAsync(run, request.HttpContext.RequestAborted)));

    [Function("GetArtifact")]
    public async Task<IActionResult> GetArtifact(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{run}/artifacts/{*path}")] HttpRequest request,
        string run, string? path) =>
        new HttpResultAction(await PipelineApi.RunAsync(() =>
            artifacts.GetAsync(run, path, request.HttpContext.Response, request.HttpContext.RequestAborted)));
}
