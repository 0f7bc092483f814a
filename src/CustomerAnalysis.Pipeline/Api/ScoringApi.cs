using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using System.Text.Json.Serialization;

namespace CustomerAnalysis.Pipeline.Api;

public sealed record ScoringAccepted(
    [property: JsonPropertyName("scoring_run")] string RunId,
    [property: JsonPropertyName("status_url")] string StatusUrl);

public sealed record ScoringStatusResponse
{
    [JsonPropertyName("scoring_run")] public required string RunId { get; init; }
    [JsonPropertyName("input")] public required ScoringInput Input { get; init; }
    /// <summary>The orchestration's runtime status (Pending, Running, Completed, Failed, ...).</summary>
    [JsonPropertyName("runtime_status")] public string? RuntimeStatus { get; init; }
    [JsonPropertyName("progress")] public ScoringProgress? Progress { get; init; }
    [JsonPropertyName("result")] public ScoringResult? Result { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
}

/// <summary>The scoring routes' handlers, shared by both hosts (<see cref="ScoringRoutes.MapScoringRoutes"/> for
/// Kestrel; the Functions app wraps each).</summary>
public sealed class ScoringApi(PipelineConfig config, ScoringLauncher launcher, ScoreStore lookups, IDatasetPreparer preparer)
{
    private static readonly TimeSpan StorageDeadline = TimeSpan.FromSeconds(10);

    // POST /api/scoring
    /// <summary>Body: <c>source</c> (as for training), <c>task</c> (<c>events</c>, <c>churn</c>), optional <c>model</c>
    /// (registry name; default the task's), <c>version</c> (default production), <c>shards</c>, <c>top</c> and
    /// <c>run_id</c> (an existing run is re-run with its stored input).</summary>
    public async Task<IResult> StartScoringAsync(HttpRequest request, DurableTaskClient client)
    {
        using var json = await JsonBody.ReadAsync(request, config.Api.MaxBodyBytes);
        var root = json.Root;
        JsonFields.AllowOnly(root, "", "source", "task", "model", "version", "shards", "top", "run_id");
        var source = JsonFields.Text(root, "source");
        if (string.IsNullOrWhiteSpace(source))
            throw ApiProblem.BadRequest("'source' is required: a path 'ca prepare --input' accepts, blob://container/prefix or bq://.");
        var taskName = JsonFields.Text(root, "task");
        if (!PredictionTasks.TryParse(taskName, out var task))
            throw ApiProblem.BadRequest($"'task' must be 'events' or 'churn' (got '{taskName}').");
        var model = JsonFields.Text(root, "model");
        if (model != null && !ModelNames.IsValid(model))
            throw ApiProblem.BadRequest($"'model' '{model}' is invalid: use 1-{ModelNames.MaxLength} letters, digits, '-' or '_'.");
        var version = JsonFields.WholeNumber(root, "version", 1, int.MaxValue);
        var shards = JsonFields.WholeNumber(root, "shards", 1, Core.Events.UserShard.MaxCount);
        var top = JsonFields.WholeNumber(root, "top", 1, ScoringLauncher.MaxTop);
        var runId = JsonFields.Text(root, "run_id");
        if (runId != null && !ScoringRunIds.IsValid(runId))
            throw ApiProblem.BadRequest($"'run_id' '{runId}' is invalid: use 1-{ScoringRunIds.MaxLength} letters, digits, '-' or '_'.");
        TrainingSources.Check(source, preparer);

        using var deadline = Deadline(request.HttpContext.RequestAborted);
        try
        {
            var id = await launcher.StartAsync(client, new ScoringRequest(source, task, model, version, shards, top, runId),
                deadline.Token);
            var statusUrl = $"{request.Scheme}://{request.Host}{request.PathBase}/api/scoring/{id}";
            return Results.Accepted(statusUrl, new ScoringAccepted(id, statusUrl));
        }
        catch (KeyNotFoundException e)
        {
            throw ApiProblem.NotFound(e.Message);
        }
        catch (ScoringRunConflictException e)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, e.Message);
        }
    }

    // GET /api/scoring/{id}
    public async Task<IResult> GetScoringAsync(string runId, DurableTaskClient client, CancellationToken aborted)
    {
        if (!ScoringRunIds.IsValid(runId)) throw ApiProblem.NotFound($"No scoring run '{runId}'.");
        using var deadline = Deadline(aborted);
        var input = await launcher.ReadRunAsync(runId, deadline.Token)
                    ?? throw ApiProblem.NotFound($"No scoring run '{runId}'.");
        var instance = await client.GetInstanceAsync(runId, getInputsAndOutputs: true, deadline.Token);
        return Results.Json(new ScoringStatusResponse
        {
            RunId = runId,
            Input = input,
            RuntimeStatus = instance?.RuntimeStatus.ToString(),
            Progress = instance?.ReadCustomStatusAs<ScoringProgress>(),
            Result = instance is { RuntimeStatus: OrchestrationRuntimeStatus.Completed } ? instance.ReadOutputAs<ScoringResult>() : null,
            Error = instance?.FailureDetails?.ErrorMessage,
        });
    }

    // GET /api/scores/{model}/{user_pseudo_id}
    public async Task<IResult> GetScoreAsync(string model, string user, CancellationToken aborted)
    {
        if (!ModelNames.IsValid(model))
            throw ApiProblem.BadRequest($"Model name '{model}' is invalid: use 1-{ModelNames.MaxLength} letters, digits, '-' or '_'.");
        if (user.Length is 0 or > 256 || user.Any(char.IsControl))
            throw ApiProblem.BadRequest("The user_pseudo_id must be 1-256 characters without control characters.");
        using var deadline = Deadline(aborted);
        var score = await lookups.GetAsync(model, user, deadline.Token)
                    ?? throw ApiProblem.NotFound($"No score of model '{model}' for user '{user}': no scoring run has scored them.");
        return Results.Json(score);
    }

    private static CancellationTokenSource Deadline(CancellationToken aborted)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(StorageDeadline);
        return deadline;
    }
}

public static class ScoringRoutes
{
    public static RouteGroupBuilder MapScoringRoutes(this RouteGroupBuilder admin, ScoringApi scoring)
    {
        admin.MapPost("/scoring", (HttpRequest request, DurableTaskClient client) =>
            PipelineApi.RunAsync(() => scoring.StartScoringAsync(request, client)));
        admin.MapGet("/scoring/{id}", (string id, DurableTaskClient client, CancellationToken ct) =>
            PipelineApi.RunAsync(() => scoring.GetScoringAsync(id, client, ct)));
        admin.MapGet("/scores/{model}/{user}", (string model, string user, CancellationToken ct) =>
            PipelineApi.RunAsync(() => scoring.GetScoreAsync(model, user, ct)));
        return admin;
    }
}
