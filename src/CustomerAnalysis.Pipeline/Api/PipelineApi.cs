using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>
/// The HTTP API's handlers, shared by both hosts: <see cref="ApiRoutes.MapCustomerAnalysisApi"/> maps them for
/// Kestrel (<c>ca serve</c>), the Functions app wraps each in a <c>[Function]</c>. Refused requests become
/// <c>application/problem+json</c> responses that name the problem.
/// </summary>
public sealed class PipelineApi(
    PipelineConfig config, TrainingLauncher launcher, RunStore runs, ModelRegistry registry, ProductionModelCache models,
    IDatasetPreparer preparer, TimeProvider clock)
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
            return new ApiProblem(StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfterSeconds).ToResult();
        }
        catch (Exception e) when (StorageOutage.Is(e))
        {
            // The storage error's own text names the account's address: not for clients.
            return StorageUnavailable("Storage is unavailable").ToResult();
        }
    }

    /// <summary>How long a route waits on storage (tables, the Durable client) before answering 503: a storage
    /// account that is down or frozen must not hold requests for the SDK's default 100 s per try.</summary>
    public TimeSpan StorageDeadline { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The prediction routes' wait when the model must first be loaded (registry, checkpoint download, load).</summary>
    public TimeSpan ModelLoadDeadline { get; init; } = TimeSpan.FromSeconds(10);

    private const int RetryAfterSeconds = 5;

    private static ApiProblem StorageUnavailable(string what) => new(StatusCodes.Status503ServiceUnavailable,
        $"{what}: storage did not answer; try again later.", RetryAfterSeconds);

    /// <summary>A token for the storage calls of one request: the request's, cut off at <paramref name="limit"/>.</summary>
    private static CancellationTokenSource Deadline(TimeSpan limit, CancellationToken aborted)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(limit);
        return deadline;
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
    /// <summary>Body: <c>source</c> (anything <c>ca prepare --input</c> accepts, or <c>blob://container/prefix</c>),
    /// <c>task</c> (<c>events</c>, <c>churn</c>), optional <c>model</c> (a model config name), <c>name</c> (the registry
    /// name) and <c>overrides</c>: <c>config</c> (<c>{"group.key": value}</c> or <c>{"group": {"key": value}}</c>),
    /// <c>grid</c> (replaces <c>grid_search_params</c>), <c>prepare</c> (like <c>config/prepare.json</c>).</summary>
    public async Task<IResult> StartTrainingAsync(HttpRequest request, DurableTaskClient client)
    {
        using var json = await ReadJsonAsync(request);
        var root = json.Root;
        JsonFields.AllowOnly(root, "", "source", "task", "model", "name", "overrides");
        var source = JsonFields.Text(root, "source");
        if (string.IsNullOrWhiteSpace(source))
            throw ApiProblem.BadRequest("'source' is required: a path 'ca prepare --input' accepts, or blob://container/prefix.");
        var taskName = JsonFields.Text(root, "task");
        if (!PredictionTasks.TryParse(taskName, out var task))
            throw ApiProblem.BadRequest($"'task' must be 'events' or 'churn' (got '{taskName}').");
        JsonObject? settings = null, grid = null, prepare = null;
        if (JsonFields.Nested(root, "overrides") is { } overrides)
        {
            JsonFields.AllowOnly(overrides, "overrides", "config", "grid", "prepare");
            settings = JsonFields.Node(overrides, "config", "overrides");
            grid = JsonFields.Node(overrides, "grid", "overrides");
            prepare = JsonFields.Node(overrides, "prepare", "overrides");
        }
        var input = ModelConfigs.Resolve(config, new TrainingRequest(source, task,
            JsonFields.Text(root, "model"), JsonFields.Text(root, "name"), settings, grid, prepare));
        TrainingSources.Check(source, preparer);
        using var deadline = Deadline(StorageDeadline, request.HttpContext.RequestAborted);
        var runId = await launcher.StartAsync(client, input, cancellationToken: deadline.Token);
        var statusUrl = $"{request.Scheme}://{request.Host}{request.PathBase}/api/training/{runId}";
        return Results.Accepted(statusUrl, new TrainingAccepted(runId, statusUrl));
    }

    // GET /api/training/{id}
    public async Task<IResult> GetTrainingAsync(string runId, DurableTaskClient client, CancellationToken aborted)
    {
        using var deadline = Deadline(StorageDeadline, aborted);
        var cancellationToken = deadline.Token;
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
    public async Task<IResult> CancelTrainingAsync(string runId, DurableTaskClient client, CancellationToken aborted)
    {
        using var deadline = Deadline(StorageDeadline, aborted);
        var cancellationToken = deadline.Token;
        var run = await runs.GetRunAsync(runId, cancellationToken)
                  ?? throw ApiProblem.NotFound($"No training run '{runId}'.");
        if (run.Status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled)
            throw new ApiProblem(StatusCodes.Status409Conflict, $"Run '{runId}' has already ended ({run.Status.ToString().ToLowerInvariant()}).");
        // Conditioned on the record read (UpdateRunAsync): a run that ended meanwhile is left as it ended.
        var cancelled = await runs.UpdateRunAsync(runId, r => RunProgress.HasEnded(r.Status) ? r : r with
        {
            Status = RunStatus.Cancelled, Stage = TrainingStages.Cancelled, CompletedAt = clock.GetUtcNow(),
            Error = "cancelled by request",
        }, cancellationToken);
        if (cancelled.Status != RunStatus.Cancelled)
            throw new ApiProblem(StatusCodes.Status409Conflict, $"Run '{runId}' has already ended ({cancelled.Status.ToString().ToLowerInvariant()}).");
        var instance = await client.GetInstanceAsync(runId, cancellationToken);
        if (instance is { IsCompleted: false })
            await client.TerminateInstanceAsync(runId, "cancelled by request", cancellationToken);
        return Results.Json(new { run = cancelled });
    }

    // GET /api/runs
    public async Task<IResult> ListRunsAsync(CancellationToken aborted)
    {
        using var deadline = Deadline(StorageDeadline, aborted);
        return Results.Json(new { runs = await runs.ListRunsAsync(cancellationToken: deadline.Token) });
    }

    // GET /api/models
    public async Task<IResult> ListModelsAsync(CancellationToken aborted)
    {
        using var deadline = Deadline(StorageDeadline, aborted);
        return Results.Json(new { models = await registry.ListAllAsync(deadline.Token) });
    }

    /// <summary>The optional header naming who, among those holding the key, changes a stage (recorded beside the key
    /// in the stage history, e.g. <c>cli via admin-key</c>).</summary>
    public const string ClientHeader = "x-ca-client";
    private const int MaxReasonLength = 500;

    /// <summary>Who a stage change is recorded as: the credential the route checked (the admin key on <c>ca serve</c>;
    /// a Functions key on Azure, which the Functions host checks before the handler runs), with the name the caller
    /// gives in <see cref="ClientHeader"/> when it gives one.</summary>
    private string Caller(HttpRequest request)
    {
        var credential = HasAdminKey(request) ? "admin-key" : "functions-key";
        var client = request.Headers[ClientHeader].ToString();
        if (client.Length == 0) return credential;
        if (client.Length > 64 || !client.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@'))
            throw ApiProblem.BadRequest($"'{ClientHeader}' must be 1 to 64 letters, digits or . _ - @.");
        return $"{client} via {credential}";
    }

    // POST /api/models/{name}/versions/{version}/stage
    /// <summary>Body: <c>stage</c> (None, Staging, Production, Archived), optional <c>force</c>: a version its run held
    /// back (it does not beat a baseline) is promoted to Production only with <c>"force": true</c>, and optional
    /// <c>reason</c>, kept in the version's stage history with who and when.</summary>
    public async Task<IResult> ChangeStageAsync(string name, string version, HttpRequest request)
    {
        ModelNames.Validate(name);
        if (!int.TryParse(version, out var number) || number < 1)
            throw ApiProblem.BadRequest($"Version '{version}' is not a positive integer.");
        var by = Caller(request);
        using var json = await ReadJsonAsync(request);
        JsonFields.AllowOnly(json.Root, "", "stage", "force", "reason");
        var stageName = JsonFields.Text(json.Root, "stage");
        var force = JsonFields.Boolean(json.Root, "force") ?? false;
        var reason = JsonFields.Text(json.Root, "reason")?.Trim();
        if (reason is { Length: > MaxReasonLength })
            throw ApiProblem.BadRequest($"'reason' is {reason.Length} characters; at most {MaxReasonLength}.");
        if (reason is { Length: 0 }) reason = null;
        if (!Enum.TryParse<ModelStage>(stageName, ignoreCase: true, out var stage) || !Enum.IsDefined(stage)
            || int.TryParse(stageName, out _))
            throw ApiProblem.BadRequest(
                $"'stage' must be one of {string.Join(", ", Enum.GetNames<ModelStage>())} (got '{stageName}').");
        try
        {
            using var deadline = Deadline(StorageDeadline, request.HttpContext.RequestAborted);
            var cancellationToken = deadline.Token;
            if (stage == ModelStage.Production
                && await registry.GetVersionAsync(name, number, cancellationToken) is { HeldBack: { } heldBack })
            {
                if (!force)
                    throw new ApiProblem(StatusCodes.Status409Conflict,
                        $"Version {number} of '{name}' was held back by its run ({heldBack}); send \"force\": true to promote it anyway.");
                // The history says the gate was overridden, whatever reason the caller gave.
                reason = (reason is null ? "" : reason + "; ") + $"forced past the promotion gate ({heldBack})";
            }
            var productionBefore = (await registry.GetProductionAsync(name, cancellationToken))?.Version;
            var changed = await registry.SetStageAsync(name, number, stage, new StageChangeNote(by, reason), cancellationToken);
            // Only a change of the production pointer concerns the served model: promoted here, or left production.
            var productionChanged = stage == ModelStage.Production ? productionBefore != number : productionBefore == number;
            if (productionChanged)
                models.OnPromoted(name, number);
            return Results.Json(changed with { StageHistory = await registry.GetHistoryAsync(name, number, cancellationToken) });
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
        JsonFields.AllowOnly(json.Root, "", "events", "sessions", "top");
        var sessions = ReadSequences(json.Root, "events", "sessions");
        var top = JsonFields.WholeNumber(json.Root, "top", 1, MaxTop) ?? 3;

        var served = await ServedAsync(config.Models.Events.Name, request.HttpContext.RequestAborted);
        var predictions = await served.Predictor.PredictNextEventAsync(sessions, top);
        return Results.Json(new NextEventResponse(
            new ModelIdentity(served.Name, served.Version),
            predictions.Select((p, i) => new NextEventResult(p.Top,
                sessions[i].Select((e, j) => new AttentionWeight(e.Name, p.Attention[j])).ToList())
                { Unknown = UnknownEvents(served.Predictor, sessions[i]) }).ToList())
            { Signals = SignalNames(served.Predictor) });
    }

    // POST /api/predict/churn
    public async Task<IResult> PredictChurnAsync(HttpRequest request)
    {
        using var json = await ReadJsonAsync(request);
        JsonFields.AllowOnly(json.Root, "", "events", "users");
        var users = ReadSequences(json.Root, "events", "users");
        var served = await ServedAsync(config.Models.Churn.Name, request.HttpContext.RequestAborted);
        var threshold = served.Predictor.ChurnThreshold;
        var predictions = await served.Predictor.PredictChurnAsync(users);
        return Results.Json(new ChurnResponse(new ModelIdentity(served.Name, served.Version), threshold,
            predictions.Select((p, i) => new ChurnResult(p.Probability, p.Probability >= threshold,
                    users[i].Select((e, j) => new AttentionWeight(e.Name, p.Attention[j])).ToList())
                { Unknown = UnknownEvents(served.Predictor, users[i]) }).ToList())
            { Signals = SignalNames(served.Predictor) });
    }

    private static List<string> SignalNames(IPredictor predictor) => predictor.Signals.Fields.Select(Signals.Name).ToList();

    private static List<int> UnknownEvents(IPredictor predictor, IReadOnlyList<InputEvent> events) =>
        Enumerable.Range(0, events.Count).Where(i => !predictor.KnowsEvent(events[i].Name)).ToList();

    /// <summary>The served model: the loaded one at once; else loaded now, within <see cref="ModelLoadDeadline"/>
    /// (a host started while storage is down says so, 503, instead of hanging).</summary>
    private async Task<ServedModel> ServedAsync(string name, CancellationToken aborted)
    {
        using var deadline = Deadline(ModelLoadDeadline, aborted);
        try
        {
            return await models.GetAsync(name, deadline.Token)
                   ?? throw ApiProblem.NotFound($"No production model '{name}' yet: train one with POST /api/training.");
        }
        catch (Exception e) when (StorageOutage.Is(e) || e is ModelUnavailableException { InnerException: { } inner }
                                  && StorageOutage.Is(inner))
        {
            throw new ApiProblem(StatusCodes.Status503ServiceUnavailable,
                $"Model '{name}' not loaded: storage unavailable; try again later.", RetryAfterSeconds);
        }
    }

    private Task<JsonBody> ReadJsonAsync(HttpRequest request) => JsonBody.ReadAsync(request, config.Api.MaxBodyBytes);

    /// <summary>Reads <c>{"events": [...]}</c> (one sequence) or <c>{"{batch}": [[...], ...]}</c>. An event is a
    /// name, or an object with <c>name</c>, optional ISO-8601 <c>timestamp</c> and optional GA4 signals by their
    /// setting names (<see cref="ReadSignal"/>).</summary>
    internal static IReadOnlyList<IReadOnlyList<InputEvent>> ReadSequences(JsonElement root, string single, string batch)
    {
        if (root.TryGetProperty(single, out var events))
            return root.TryGetProperty(batch, out _)
                ? throw ApiProblem.BadRequest($"Body has both '{single}' and '{batch}': give one of them.")
                : [ReadEvents(events, single)];
        if (!root.TryGetProperty(batch, out var sequences))
            throw ApiProblem.BadRequest($"Body needs '{single}' (one sequence) or '{batch}' (a list of sequences).");
        if (sequences.ValueKind != JsonValueKind.Array)
            throw ApiProblem.BadRequest($"'{batch}' must be an array of arrays of events (got {JsonBody.Kind(sequences)}).");
        if (sequences.GetArrayLength() == 0)
            throw ApiProblem.BadRequest($"'{batch}' is empty.");
        return sequences.EnumerateArray().Select((s, i) => ReadEvents(s, $"{batch}[{i}]")).ToList();
    }

    private static List<InputEvent> ReadEvents(JsonElement events, string path)
    {
        if (events.ValueKind != JsonValueKind.Array)
            throw ApiProblem.BadRequest($"'{path}' must be an array of events (got {JsonBody.Kind(events)}).");
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
                JsonFields.AllowOnly(e, at, EventFields);
                DateTimeOffset? timestamp = null;
                Dictionary<SignalField, string>? texts = null;
                Dictionary<SignalField, double>? numbers = null;
                foreach (var property in e.EnumerateObject())
                {
                    if (property.Name == "timestamp")
                        timestamp = property.Value.ValueKind == JsonValueKind.String && property.Value.TryGetDateTimeOffset(out var parsed)
                            ? parsed
                            : throw ApiProblem.BadRequest($"'{at}.timestamp' must be an ISO-8601 date-time string.");
                    else if (Signals.TryParse(property.Name, out var field))
                        ReadSignal(field, property.Value, $"{at}.{property.Name}", ref texts, ref numbers);
                }
                var signals = texts is null && numbers is null
                    ? null
                    : new EventSignalValues(texts ?? [], numbers ?? []);
                result.Add(new InputEvent(objectName, timestamp, signals));
            }
            else
                throw ApiProblem.BadRequest(
                    $"'{at}' must be a non-empty event name or an object with a non-empty 'name' (got {Given(e)}).");
        }
        return result;
    }

    /// <summary>The keys an event object may have: its name, time and every GA4 signal by its setting name.</summary>
    private static readonly string[] EventFields =
        ["name", "timestamp", .. Enum.GetValues<SignalField>().Select(Signals.Name)];

    /// <summary>One signal of an event, raw (the served model cleans and encodes it as training did): a categorical
    /// one a string of at most <see cref="SignalInputs.MaxTextLength"/> characters, a numeric one a number finite as
    /// a float (the event table's type); null is missing, as a field left out. Any other value is a 400 naming the
    /// field, whichever model is served (a names-only model ignores valid signals).</summary>
    private static void ReadSignal(SignalField field, JsonElement value, string at,
        ref Dictionary<SignalField, string>? texts, ref Dictionary<SignalField, double>? numbers)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (Signals.KindOf(field) == SignalKind.Categorical)
        {
            if (value.ValueKind != JsonValueKind.String)
                throw ApiProblem.BadRequest($"'{at}' must be a string (a GA4 value such as \"mobile\") or null (got {JsonBody.Kind(value)}).");
            var text = value.GetString()!;
            if (text.Length > SignalInputs.MaxTextLength)
                throw ApiProblem.BadRequest($"'{at}' is {text.Length} characters long; at most {SignalInputs.MaxTextLength} are read.");
            (texts ??= [])[field] = text;
        }
        else
        {
            if (value.ValueKind != JsonValueKind.Number)
                throw ApiProblem.BadRequest($"'{at}' must be a number or null (got {JsonBody.Kind(value)}).");
            if (!value.TryGetDouble(out var number) || !float.IsFinite((float)number))
                throw ApiProblem.BadRequest($"'{at}' must be a finite number within ±3.4e38, a float's range (got {Shown(value)}).");
            (numbers ??= [])[field] = number;
        }
    }

    private static string Shown(JsonElement number) =>
        number.GetRawText() is { Length: <= 24 } raw ? raw : number.GetRawText()[..24] + "…";

    private static string Given(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "an empty string",
        JsonValueKind.Object => "an object without a non-empty string 'name'",
        _ => JsonBody.Kind(e),
    };
}
