using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Pipeline.Storage;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>The latest score per user and model, for lookups (<c>GET /api/scores/{model}/{user}</c>).</summary>
public sealed record ScoreLookup
{
    [System.Text.Json.Serialization.JsonPropertyName("user_pseudo_id")] public required string User { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("model")] public required ScoringModel Model { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("task")] public required string Task { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("scoring_run")] public required string ScoringRun { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("scored_at")] public required DateTimeOffset ScoredAt { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("churn_probability")] public double? ChurnProbability { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("churned")] public bool? Churned { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("top_events")] public IReadOnlyList<EventProbability> TopEvents { get; init; } = [];
}

/// <summary>
/// Table <c>{prefix}scores</c>: partition = model name, row = <c>u:</c> + the escaped <c>user_pseudo_id</c>, one
/// entity per user holding their latest score; plus a marker row per model naming the run that wrote last. A run
/// writes its rows only if it is not older (by creation time) than that run, so re-running an old scoring run leaves
/// the newer lookups alone, and re-running the latest one writes the same entities again. Written in entity-group
/// transactions of 100 (upserts: a retried shard writes the same rows).
/// </summary>
public sealed class ScoreStore
{
    private const string MarkerRow = "~latest";
    private const int TransactionSize = 100;
    private readonly TableClient _table;
    private volatile bool _created;

    public ScoreStore(PipelineStorageOptions options) =>
        _table = options.CreateTableServiceClient().GetTableClient(options.NamePrefix + "scores");

    private static string RowKey(string user) => "u:" + Uri.EscapeDataString(user);

    private async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (_created) return;
        await _table.CreateIfNotExistsAsync(cancellationToken);
        _created = true;
    }

    /// <summary>Claims the lookups of <paramref name="model"/> for this run unless a newer run holds them.</summary>
    /// <returns>Whether this run's rows are to be written.</returns>
    public async Task<bool> ClaimAsync(string model, string runId, DateTimeOffset created, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        while (true)
        {
            var marker = await _table.GetEntityIfExistsAsync<TableEntity>(model, MarkerRow, cancellationToken: cancellationToken);
            if (marker.HasValue)
            {
                var current = marker.Value!;
                var currentCreated = current.GetDateTimeOffset("Created") ?? DateTimeOffset.MinValue;
                if (current.GetString("ScoringRun") == runId) return true;
                if (currentCreated > created) return false;
            }
            var entity = new TableEntity(model, MarkerRow) { ["ScoringRun"] = runId, ["Created"] = created };
            try
            {
                if (marker.HasValue)
                    await _table.UpdateEntityAsync(entity, marker.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                else
                    await _table.AddEntityAsync(entity, cancellationToken);
                return true;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // Another run's shard claimed it meanwhile: read again.
            }
        }
    }

    public async Task UpsertAsync(ScoringModel model, string task, string runId, DateTimeOffset scoredAt,
        IReadOnlyList<UserScore> scores, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        foreach (var chunk in scores.Chunk(TransactionSize))
        {
            var actions = chunk.Select(s => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                new TableEntity(model.Name, RowKey(s.User))
                {
                    ["User"] = s.User,
                    ["ModelVersion"] = model.Version,
                    ["Checkpoint"] = model.Checkpoint,
                    ["Task"] = task,
                    ["ScoringRun"] = runId,
                    ["ScoredAt"] = scoredAt,
                    ["ChurnProbability"] = s.ChurnProbability,
                    ["Churned"] = s.Churned,
                    ["TopEventsJson"] = s.TopEvents.Count > 0 ? JsonSerializer.Serialize(s.TopEvents) : null,
                })).ToList();
            await _table.SubmitTransactionAsync(actions, cancellationToken);
        }
    }

    public async Task<ScoreLookup?> GetAsync(string model, string user, CancellationToken cancellationToken)
    {
        NullableResponse<TableEntity> response;
        try
        {
            response = await _table.GetEntityIfExistsAsync<TableEntity>(model, RowKey(user), cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null; // no scoring run has written the table yet
        }
        if (!response.HasValue) return null;
        var e2 = response.Value!;
        return new ScoreLookup
        {
            User = e2.GetString("User"),
            Model = new ScoringModel(model, e2.GetInt32("ModelVersion") ?? 0, e2.GetString("Checkpoint") ?? ""),
            Task = e2.GetString("Task"),
            ScoringRun = e2.GetString("ScoringRun"),
            ScoredAt = e2.GetDateTimeOffset("ScoredAt") ?? default,
            ChurnProbability = e2.GetDouble("ChurnProbability"),
            Churned = e2.GetBoolean("Churned"),
            TopEvents = e2.GetString("TopEventsJson") is { } json
                ? JsonSerializer.Deserialize<EventProbability[]>(json) ?? []
                : [],
        };
    }
}
