using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Api;

public static class ApiRoutes
{
    /// <summary>Maps the pipeline's HTTP API (the same routes the Functions app has). Training, runs, models and
    /// stage routes require the configured key in <c>x-api-key</c>; predictions too unless <c>predictions_open</c>. Needs
    /// <see cref="PipelineApi"/>, <see cref="PipelineConfig"/> and a <see cref="DurableTaskClient"/> in DI.</summary>
    public static IEndpointRouteBuilder MapCustomerAnalysisApi(this IEndpointRouteBuilder app)
    {
        var api = app.ServiceProvider.GetRequiredService<PipelineApi>();
        var config = app.ServiceProvider.GetRequiredService<PipelineConfig>();
        var admin = app.MapGroup("/api").AddEndpointFilter(RequireKey(api));
        var predict = app.MapGroup("/api/predict");
        if (!config.Api.PredictionsOpen)
            predict.AddEndpointFilter(RequireKey(api));

        admin.MapPost("/training", (HttpRequest request, DurableTaskClient client) =>
            PipelineApi.RunAsync(() => api.StartTrainingAsync(request, client)));
        admin.MapPost("/models/{name}/versions/{version}/stage", (string name, string version, HttpRequest request) =>
            PipelineApi.RunAsync(() => api.ChangeStageAsync(name, version, request)));
        admin.MapGet("/training/{id}", (string id, DurableTaskClient client, CancellationToken ct) =>
            PipelineApi.RunAsync(() => api.GetTrainingAsync(id, client, ct)));
        admin.MapPost("/training/{id}/cancel", (string id, DurableTaskClient client, CancellationToken ct) =>
            PipelineApi.RunAsync(() => api.CancelTrainingAsync(id, client, ct)));
        admin.MapGet("/runs", (CancellationToken ct) => PipelineApi.RunAsync(() => api.ListRunsAsync(ct)));
        admin.MapGet("/models", (CancellationToken ct) => PipelineApi.RunAsync(() => api.ListModelsAsync(ct)));
        admin.MapArtifactRoutes(app.ServiceProvider.GetRequiredService<ArtifactsApi>());
        admin.MapScoringRoutes(app.ServiceProvider.GetRequiredService<ScoringApi>());
        predict.MapPost("/next-event", (HttpRequest request) =>
            PipelineApi.RunAsync(() => api.PredictNextEventAsync(request)));
        predict.MapPost("/churn", (HttpRequest request) => PipelineApi.RunAsync(() => api.PredictChurnAsync(request)));
        return app;
    }

    /// <summary>Maps the web UI (<see cref="UiPage"/>) at <c>GET /</c> and <c>GET /ui</c>. The page itself is public;
    /// the admin routes it calls still need the key, which the user types into it.</summary>
    public static IEndpointRouteBuilder MapCustomerAnalysisUi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", UiPage.Result);
        app.MapGet("/ui", UiPage.Result);
        return app;
    }

    /// <summary>Makes every answer the web host itself gives a problem too (the routes' own refusals already are):
    /// 404 for an unknown route, 405 for a wrong method, 414/431 for an oversized request target or headers (checked
    /// here, below Kestrel's limits, see <see cref="RequestHeadLimits"/>), and a 500 that names nothing internal.
    /// Call before mapping the routes.</summary>
    public static IApplicationBuilder UseCustomerAnalysisProblems(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = context => new ApiProblem(StatusCodes.Status500InternalServerError,
                "The server failed on this request; the error is in its log.").WriteAsync(context),
        });
        app.UseStatusCodePages(new StatusCodePagesOptions
        {
            HandleAsync = pages =>
            {
                var http = pages.HttpContext;
                var status = http.Response.StatusCode;
                var detail = status switch
                {
                    // The path is not echoed: it may be a probe (../, a file name) that a client would log as found.
                    StatusCodes.Status404NotFound => $"No route for {http.Request.Method} at this path; the API's routes are under /api/.",
                    StatusCodes.Status405MethodNotAllowed =>
                        $"{http.Request.Method} is not allowed on {http.Request.Path}; allowed: {http.Response.Headers.Allow}.",
                    _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) + ".",
                };
                return new ApiProblem(status, detail).WriteAsync(http);
            },
        });
        app.Use((context, next) => RequestHeadLimits.Refusal(context) is { } refusal ? refusal.WriteAsync(context) : next(context));
        return app;
    }

    private static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> RequireKey(
        PipelineApi api) => async (context, next) =>
        api.AdminKeyRefusal(context.HttpContext.Request) is { } refusal ? refusal.ToResult() : await next(context);
}

/// <summary>Limits on the request head, checked by <see cref="ApiRoutes.UseCustomerAnalysisProblems"/> so that the
/// refusal is a problem. Kestrel's own limits answer with an empty body, so they are set well above these (a head
/// over them still gets Kestrel's bare answer).</summary>
public static class RequestHeadLimits
{
    public const int MaxHeaderBytes = 32 * 1024;
    public const int MaxHeaderCount = 100;
    public const int MaxTargetBytes = 8 * 1024;

    public static void ConfigureKestrel(KestrelServerLimits limits)
    {
        limits.MaxRequestHeadersTotalSize = 32 * MaxHeaderBytes;
        limits.MaxRequestHeaderCount = 10 * MaxHeaderCount;
        limits.MaxRequestLineSize = 8 * MaxTargetBytes;
    }

    internal static ApiProblem? Refusal(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        if (target.Length > MaxTargetBytes)
            return new ApiProblem(StatusCodes.Status414UriTooLong,
                $"The request target is {target.Length} bytes; the limit is {MaxTargetBytes}.");
        var headers = context.Request.Headers;
        if (headers.Count > MaxHeaderCount)
            return new ApiProblem(StatusCodes.Status431RequestHeaderFieldsTooLarge,
                $"The request has {headers.Count} headers; the limit is {MaxHeaderCount}.");
        long bytes = 0;
        foreach (var (name, values) in headers)
        {
            bytes += name.Length + 4; // ": " and CRLF
            foreach (var value in values) bytes += value?.Length ?? 0;
        }
        return bytes > MaxHeaderBytes
            ? new ApiProblem(StatusCodes.Status431RequestHeaderFieldsTooLarge,
                $"The request headers are {bytes} bytes; the limit is {MaxHeaderBytes}.")
            : null;
    }
}
