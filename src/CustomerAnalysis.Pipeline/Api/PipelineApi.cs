using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Net.Http.Headers;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>
/// The HTTP API's handlers, shared by both hosts: <see cref="ApiRoutes.MapCustomerAnalysisApi"/> maps them for
/// Kestrel (<c>ca serve</c>), the Functions app wraps each in a <c>[Function]</c>. Refused requests become
/// <c>application/problem+json</c> responses that name the problem.
/// </summary>
public sealed class PipelineApi(
    PipelineConfig config, TrainingLauncher launcher, RunStore runs, ModelRegistry registry, ProductionModelCache models,
    TimeProvider clock)
{
    public const string ApiKeyHeader = "x-api-key";
    private const int MaxTop = 50;

    /// <summary>Runs a handler, turning refusals into problem responses.</summary>
    public static async Task<IResult> RunAsync(Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (ApiProblem problem)
        {
            return problem.ToResult();
        }
        catch (InvalidInputException e)
        {
            return ApiProblem.BadRequest(e.Message).ToResult();
        }
        catch (ModelUnavailableException e)
        {
            return new ApiProblem(StatusCodes.Status503ServiceUnavailable, e.Message).ToResult();
        }
    }

    /// <summary>Why a key-protected route refuses the request, or null when it carries the configured admin key. With
    /// no key configured the route is closed (503, saying so): it never falls back to a known key.</summary>
    public ApiProblem? AdminKeyRefusal(HttpRequest request)
    {
        if (string.IsNullOrEmpty(config.Api.AdminKey))
            return new ApiProblem(StatusCodes.Status503ServiceUnavailable,
                "No admin key is configured (api.admin_key; CA__api__admin_key in Azure, from Key Vault): key-protected routes are closed.");
        return HasAdminKey(request)
            ? null
            : new ApiProblem(StatusCodes.Status401Unauthorized, $"This route needs the API key in the '{ApiKeyHeader}' header.");
    }

    /// <summary>Whether the request carries the configured admin key (constant-time compare).</summary>
    public bool HasAdminKey(HttpRequest request)
    {
        var expected = config.Api.AdminKey;
        if (string.IsNullOrEmpty(expected)) return false;
        var given = request.Headers[ApiKeyHeader].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected));
    }

    // POST /api/training
    public async Task<IResult> StartTrainingAsync(HttpRequest request, DurableTaskClient client)
    {
        using var json = await ReadJsonAsync(request);
        var body = Deserialize<TrainingRequestBody>(json);
        if (string.IsNullOrWhiteSpace(body.Source))
            throw ApiProblem.BadRequest("'source' is required: a path 'ca prepare --input' accepts, or blob://container/prefix.");
        if (!PredictionTasks.TryParse(body.Task, out var task))
            throw ApiProblem.BadRequest($"'task' must be 'events' or 'churn' (got '{body.Task}').");
        var input = ModelConfigs.Resolve(config, new TrainingRequest(body.Source, task, body.Model, body.Name,
            body.Overrides?.Config, body.Overrides?.Grid, body.Overrides?.Prepare));
        var runId = await launcher.StartAsync(client, input, cancellationToken: request.HttpContext.RequestAborted);
        var statusUrl = $"{request.Scheme}://{request.Host}{request.PathBase}/api/training/{runId}";
        return Results.Accepted(statusUrl, new TrainingAccepted(runId, statusUrl));
    }

    // GET /api/training/{id}
    public async Task<IResult> GetTrainingAsync(string runId, DurableTaskClient client, CancellationToken cancellationToken)
    {
        var run = await runs.GetRunAsync(runId, cancellationToken)
                  ?? throw ApiProblem.NotFound($"No training run '{runId}'.");
        var instance = await client.GetInstanceAsync(runId, getInputsAndOutputs: true, cancellationToken);
        return Results.Json(new TrainingStatusResponse
        {
            Run = run,
            RuntimeStatus = instance?.RuntimeStatus.ToString(),
            Progress = instance?.ReadCustomStatusAs<TrainingProgress>(),
            Trials = await runs.ListTrialsAsync(runId, cancellationToken),
            Result = instance is { RuntimeStatus: OrchestrationRuntimeStatus.Completed }
                ? instance.ReadOutputAs<TrainingResult>()
                : null,
        });
    }

    // POST /api/training/{id}/cancel
    /// <summary>Stops a run: its record says cancelled (the trial workers drop its queued items and stop the trials they
    /// are running within a few seconds), and its orchestration is terminated. A run that has ended is a 409.</summary>
    public async Task<IResult> CancelTrainingAsync(string runId, DurableTaskClient client, CancellationToken cancellationToken)
    {
        var run = await runs.GetRunAsync(runId, cancellationToken)
                  ?? throw ApiProblem.NotFound($"No training run '{runId}'.");
        if (run.Status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled)
            throw new ApiProblem(StatusCodes.Status409Conflict, $"Run '{runId}' has already ended ({run.Status.ToString().ToLowerInvariant()}).");
        var cancelled = await runs.UpdateRunAsync(runId, r => r with
        {
            Status = RunStatus.Cancelled, Stage = TrainingStages.Cancelled, CompletedAt = clock.GetUtcNow(),
            Error = "cancelled by request",
        }, cancellationToken);
        var instance = await client.GetInstanceAsync(runId, cancellationToken);
        if (instance is { IsCompleted: false })
            await client.TerminateInstanceAsync(runId, "cancelled by request", cancellationToken);
        return Results.Json(new { run = cancelled });
    }

    // GET /api/runs
    public async Task<IResult> ListRunsAsync(CancellationToken cancellationToken) =>
        Results.Json(new { runs = await runs.ListRunsAsync(cancellationToken: cancellationToken) });

    // GET /api/models
    public async Task<IResult> ListModelsAsync(CancellationToken cancellationToken) =>
        Results.Json(new { models = await registry.ListAllAsync(cancellationToken) });

    // POST /api/models/{name}/versions/{version}/stage
    public async Task<IResult> ChangeStageAsync(string name, string version, HttpRequest request)
    {
        ModelNames.Validate(name);
        if (!int.TryParse(version, out var number) || number < 1)
            throw ApiProblem.BadRequest($"Version '{version}' is not a positive integer.");
        using var json = await ReadJsonAsync(request);
        var body = Deserialize<StageChangeBody>(json);
        if (!Enum.TryParse<ModelStage>(body.Stage, ignoreCase: true, out var stage) || !Enum.IsDefined(stage)
            || int.TryParse(body.Stage, out _))
            throw ApiProblem.BadRequest(
                $"'stage' must be one of {string.Join(", ", Enum.GetNames<ModelStage>())} (got '{body.Stage}').");
        try
        {
            var cancellationToken = request.HttpContext.RequestAborted;
            var productionBefore = (await registry.GetProductionAsync(name, cancellationToken))?.Version;
            var changed = await registry.SetStageAsync(name, number, stage, cancellationToken);
            // Only a change of the production pointer concerns the served model: promoted here, or left production.
            var productionChanged = stage == ModelStage.Production ? productionBefore != number : productionBefore == number;
            if (productionChanged)
                models.OnPromoted(name, number);
            return Results.Json(changed);
        }
        catch (KeyNotFoundException e)
        {
            throw ApiProblem.NotFound(e.Message);
        }
        catch (ConcurrencyConflictException e)
        {
            throw new ApiProblem(StatusCodes.Status409Conflict, e.Message);
        }
    }

    // POST /api/predict/next-event
    public async Task<IResult> PredictNextEventAsync(HttpRequest request)
    {
        using var json = await ReadJsonAsync(request);
        var sessions = ReadSequences(json.RootElement, "events", "sessions");
        var top = 3;
        if (json.RootElement.TryGetProperty("top", out var topElement)
            && (!topElement.TryGetInt32(out top) || top < 1 || top > MaxTop))
            throw ApiProblem.BadRequest($"'top' must be an integer from 1 to {MaxTop}.");

        var served = await ServedAsync(config.Models.Events.Name, request.HttpContext.RequestAborted);
        var predictions = served.Predictor.PredictNextEvent(sessions, top);
        return Results.Json(new NextEventResponse(
            new ModelIdentity(served.Name, served.Version),
            predictions.Select((p, i) => new NextEventResult(p.Top,
                sessions[i].Select((e, j) => new AttentionWeight(e.Name, p.Attention[j])).ToList())
                { Unknown = UnknownEvents(served.Predictor, sessions[i]) }).ToList()));
    }

    // POST /api/predict/churn
    public async Task<IResult> PredictChurnAsync(HttpRequest request)
    {
        using var json = await ReadJsonAsync(request);
        var users = ReadSequences(json.RootElement, "events", "users");
        var served = await ServedAsync(config.Models.Churn.Name, request.HttpContext.RequestAborted);
        var threshold = served.Predictor.ChurnThreshold;
        var probabilities = served.Predictor.PredictChurn(users);
        return Results.Json(new ChurnResponse(new ModelIdentity(served.Name, served.Version), threshold,
            probabilities.Select((p, i) => new ChurnResult(p, p >= threshold)
                { Unknown = UnknownEvents(served.Predictor, users[i]) }).ToList()));
    }

    private static IReadOnlyList<int> UnknownEvents(IPredictor predictor, IReadOnlyList<InputEvent> events) =>
        Enumerable.Range(0, events.Count).Where(i => !predictor.KnowsEvent(events[i].Name)).ToList();

    private async Task<ServedModel> ServedAsync(string name, CancellationToken cancellationToken) =>
        await models.GetAsync(name, cancellationToken)
        ?? throw ApiProblem.NotFound($"No production model '{name}' yet: train one with POST /api/training.");

    /// <summary>Checks media type and size, then parses the body.</summary>
    private async Task<JsonDocument> ReadJsonAsync(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !(mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                 || mediaType.MediaType.Value!.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            throw new ApiProblem(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/json (got '{request.ContentType}').");
        var limit = config.Api.MaxBodyBytes;
        if (request.ContentLength > limit)
            throw new ApiProblem(StatusCodes.Status413PayloadTooLarge,
                $"Body is {request.ContentLength} bytes; the limit is {limit}.");

        // Read at most limit + 1 bytes: a chunked body without Content-Length is held to the same limit.
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
                throw new ApiProblem(StatusCodes.Status413PayloadTooLarge, $"Body is over the limit of {limit} bytes.");
        }
        if (buffer.Length == 0)
            throw ApiProblem.BadRequest("Body is empty: a JSON object is expected.");
        try
        {
            var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw ApiProblem.BadRequest("Body must be a JSON object.");
            }
            return document;
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest($"Body is not valid JSON: {e.Message}");
        }
    }

    private static T Deserialize<T>(JsonDocument json)
    {
        try
        {
            return json.Deserialize<T>()!;
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest($"Body has a field of the wrong type: {e.Message}");
        }
    }

    /// <summary>Reads <c>{"events": [...]}</c> (one sequence) or <c>{"{batch}": [[...], ...]}</c>. An event is a
    /// name, or an object with <c>name</c> and optional ISO-8601 <c>timestamp</c>.</summary>
    internal static IReadOnlyList<IReadOnlyList<InputEvent>> ReadSequences(JsonElement root, string single, string batch)
    {
        if (root.TryGetProperty(single, out var events))
            return [ReadEvents(events, single)];
        if (!root.TryGetProperty(batch, out var sequences))
            throw ApiProblem.BadRequest($"Body needs '{single}' (one sequence) or '{batch}' (a list of sequences).");
        if (sequences.ValueKind != JsonValueKind.Array)
            throw ApiProblem.BadRequest($"'{batch}' must be an array of arrays of events.");
        if (sequences.GetArrayLength() == 0)
            throw ApiProblem.BadRequest($"'{batch}' is empty.");
        return sequences.EnumerateArray().Select((s, i) => ReadEvents(s, $"{batch}[{i}]")).ToList();
    }

    private static IReadOnlyList<InputEvent> ReadEvents(JsonElement events, string path)
    {
        if (events.ValueKind != JsonValueKind.Array)
            throw ApiProblem.BadRequest($"'{path}' must be an array of events.");
        if (events.GetArrayLength() == 0)
            throw ApiProblem.BadRequest($"'{path}' is empty: at least one event is needed.");
        var result = new List<InputEvent>(events.GetArrayLength());
        var i = 0;
        foreach (var e in events.EnumerateArray())
        {
            var at = $"{path}[{i++}]";
            if (e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } name)
                result.Add(new InputEvent(name, null));
            else if (e.ValueKind == JsonValueKind.Object
                     && e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                     && n.GetString() is { Length: > 0 } objectName)
            {
                DateTimeOffset? timestamp = null;
                if (e.TryGetProperty("timestamp", out var t))
                    timestamp = t.ValueKind == JsonValueKind.String && t.TryGetDateTimeOffset(out var parsed)
                        ? parsed
                        : throw ApiProblem.BadRequest($"'{at}.timestamp' must be an ISO-8601 date-time string.");
                result.Add(new InputEvent(objectName, timestamp));
            }
            else
                throw ApiProblem.BadRequest(
                    $"'{at}' must be a non-empty event name or an object with a non-empty 'name'.");
        }
        return result;
    }
}
