using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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

    private static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> RequireKey(
        PipelineApi api) => async (context, next) =>
        api.AdminKeyRefusal(context.HttpContext.Request) is { } refusal ? refusal.ToResult() : await next(context);
}
