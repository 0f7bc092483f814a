using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>Outcome of a promotion attempt.</summary>
public sealed record PromotionResult(bool Promoted, string Reason, int? PreviousProductionVersion);

/// <summary>
/// Model versions in Table storage: partition = model name, row = zero-padded version; plus one pointer row per
/// model (<c>~production</c>) naming the production version. Promotion rewrites the pointer, the new version and the
/// old one in one entity-group transaction conditioned on the pointer's ETag, so of two concurrent promotions exactly
/// one wins and the stages never disagree with the pointer.
/// </summary>
public sealed class ModelRegistry(PipelineStorage storage)
{
    private const string ProductionPointer = "~production";
    public const string ChampionAlias = "champion";

    private static string RowKey(int version) => version.ToString("D10");

    /// <summary>Registers a new version for <paramref name="runId"/>, or returns the one that run already registered
    /// (the Register activity may run twice).</summary>
    public async Task<ModelVersionRecord> RegisterAsync(string name, string runId, string task, string checkpointBlob,
        IReadOnlyDictionary<string, double> testMetrics, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ModelNames.Validate(name);
        while (true)
        {
            var versions = await ListVersionsAsync(name, cancellationToken);
            var existing = versions.FirstOrDefault(v => v.RunId == runId);
            if (existing != null) return existing;

            var record = new ModelVersionRecord
            {
                Name = name,
                Version = versions.Count == 0 ? 1 : versions.Max(v => v.Version) + 1,
                RunId = runId,
                Task = task,
                Stage = ModelStage.None,
                CheckpointBlob = checkpointBlob,
                TestMetrics = testMetrics,
                CreatedAt = createdAt,
            };
            try
            {
                // Add fails with 409 if another run took this version number meanwhile: list again and retry.
                await storage.Models.AddEntityAsync(ToEntity(record), cancellationToken);
                return record;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
            }
        }
    }

    public async Task<IReadOnlyList<ModelVersionRecord>> ListVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        var versions = new List<ModelVersionRecord>();
        await foreach (var e in storage.Models.QueryAsync<TableEntity>(
                           x => x.PartitionKey == name, cancellationToken: cancellationToken))
            if (e.RowKey != ProductionPointer)
                versions.Add(ToRecord(e));
        return versions;
    }

    /// <summary>All versions of all models, by name then version.</summary>
    public async Task<IReadOnlyList<ModelVersionRecord>> ListAllAsync(CancellationToken cancellationToken = default)
    {
        var versions = new List<ModelVersionRecord>();
        await foreach (var e in storage.Models.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
            if (e.RowKey != ProductionPointer)
                versions.Add(ToRecord(e));
        return versions.OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.Version).ToList();
    }

    public async Task<ModelVersionRecord?> GetVersionAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        var response = await storage.Models.GetEntityIfExistsAsync<TableEntity>(
            name, RowKey(version), cancellationToken: cancellationToken);
        return response.HasValue ? ToRecord(response.Value!) : null;
    }

    /// <summary>The production version of <paramref name="name"/>, or null when none is.</summary>
    public async Task<ModelVersionRecord?> GetProductionAsync(string name, CancellationToken cancellationToken = default)
    {
        var pointer = await GetPointerAsync(name, cancellationToken);
        return pointer == null ? null : await GetVersionAsync(name, pointer.GetInt32("Version")!.Value, cancellationToken);
    }

    /// <summary>
    /// Makes <paramref name="version"/> production if production is still <paramref name="expectedProductionVersion"/>
    /// (null: no production yet), the version the caller compared it against. The old production version becomes
    /// Archived, and the <see cref="ChampionAlias"/> moves. Returns not promoted when another promotion got there first.
    /// </summary>
    public async Task<PromotionResult> PromoteAsync(string name, int version, int? expectedProductionVersion,
        CancellationToken cancellationToken = default)
    {
        var candidate = await GetVersionEntityAsync(name, version, cancellationToken)
                        ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.");
        var pointer = await GetPointerAsync(name, cancellationToken);
        var current = pointer?.GetInt32("Version");
        if (current == version)
            return new PromotionResult(true, $"version {version} is already production", current);
        if (current != expectedProductionVersion)
            return new PromotionResult(false,
                $"production changed to version {current?.ToString() ?? "none"} (compared against {expectedProductionVersion?.ToString() ?? "none"})",
                current);

        var actions = new List<TableTransactionAction>();
        var newPointer = new TableEntity(name, ProductionPointer) { ["Version"] = version };
        // Add fails if a pointer appeared meanwhile; UpdateReplace fails if the pointer changed (412) or was removed
        // (404) meanwhile.
        actions.Add(pointer == null
            ? new TableTransactionAction(TableTransactionActionType.Add, newPointer)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, newPointer, pointer.ETag));
        candidate["Stage"] = ModelStage.Production.ToString();
        candidate["Aliases"] = ChampionAlias;
        actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, candidate, candidate.ETag));
        if (current is { } previous && await GetVersionEntityAsync(name, previous, cancellationToken) is { } old)
        {
            old["Stage"] = ModelStage.Archived.ToString();
            old["Aliases"] = "";
            actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, old, old.ETag));
        }

        try
        {
            await storage.Models.SubmitTransactionAsync(actions, cancellationToken);
            return new PromotionResult(true, "promoted", current);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
        {
            return new PromotionResult(false, "another promotion changed production first", current);
        }
    }

    private const string HeldBackProperty = "HeldBack";

    /// <summary>Records why a run did not promote its version (<see cref="ModelVersionRecord.HeldBack"/>): a merge of one
    /// property, so it can run again and never races the stage columns.</summary>
    public async Task HoldBackAsync(string name, int version, string reason, CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.Models.UpdateEntityAsync(new TableEntity(name, RowKey(version)) { [HeldBackProperty] = reason },
                ETag.All, TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new KeyNotFoundException($"Model '{name}' has no version {version}.", e);
        }
    }

    /// <summary>Sets a stage by hand (admin route). Production goes through <see cref="PromoteAsync"/> against the
    /// current production; leaving production clears the pointer. Throws <see cref="ConcurrencyConflictException"/>
    /// when a concurrent change to the same model wins.</summary>
    public async Task<ModelVersionRecord> SetStageAsync(string name, int version, ModelStage stage,
        CancellationToken cancellationToken = default)
    {
        ModelNames.Validate(name);
        var entity = await GetVersionEntityAsync(name, version, cancellationToken)
                     ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.");
        if (stage == ModelStage.Production)
        {
            var current = (await GetPointerAsync(name, cancellationToken))?.GetInt32("Version");
            var result = await PromoteAsync(name, version, current, cancellationToken);
            if (!result.Promoted)
                throw new ConcurrencyConflictException($"Could not promote {name} v{version}: {result.Reason}.");
            return (await GetVersionAsync(name, version, cancellationToken))!;
        }

        var actions = new List<TableTransactionAction>();
        var pointer = await GetPointerAsync(name, cancellationToken);
        if (pointer?.GetInt32("Version") == version)
            actions.Add(new TableTransactionAction(TableTransactionActionType.Delete, pointer, pointer.ETag));
        entity["Stage"] = stage.ToString();
        entity["Aliases"] = "";
        actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, entity.ETag));
        try
        {
            await storage.Models.SubmitTransactionAsync(actions, cancellationToken);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
        {
            // The version or the production pointer changed (or the pointer was deleted: 404) after they were read:
            // another change got there first.
            throw new ConcurrencyConflictException(
                $"Could not set {name} v{version} to {stage}: another change to '{name}' happened meanwhile; try again.", e);
        }
        return ToRecord(entity);
    }

    private async Task<TableEntity?> GetPointerAsync(string name, CancellationToken cancellationToken)
    {
        var response = await storage.Models.GetEntityIfExistsAsync<TableEntity>(
            name, ProductionPointer, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private async Task<TableEntity?> GetVersionEntityAsync(string name, int version, CancellationToken cancellationToken)
    {
        var response = await storage.Models.GetEntityIfExistsAsync<TableEntity>(
            name, RowKey(version), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private static TableEntity ToEntity(ModelVersionRecord r) => new(r.Name, RowKey(r.Version))
    {
        ["Version"] = r.Version,
        ["RunId"] = r.RunId,
        ["Task"] = r.Task,
        ["Stage"] = r.Stage.ToString(),
        ["Aliases"] = string.Join(',', r.Aliases),
        ["CheckpointBlob"] = r.CheckpointBlob,
        ["TestMetricsJson"] = JsonSerializer.Serialize(r.TestMetrics),
        ["CreatedAt"] = r.CreatedAt,
    };

    private static ModelVersionRecord ToRecord(TableEntity e) => new()
    {
        Name = e.PartitionKey,
        Version = e.GetInt32("Version")!.Value,
        RunId = e.GetString("RunId"),
        Task = e.GetString("Task"),
        Stage = Enum.Parse<ModelStage>(e.GetString("Stage")),
        Aliases = (e.GetString("Aliases") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries),
        CheckpointBlob = e.GetString("CheckpointBlob"),
        TestMetrics = JsonSerializer.Deserialize<Dictionary<string, double>>(e.GetString("TestMetricsJson") ?? "{}")!,
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        HeldBack = e.GetString(HeldBackProperty),
    };
}
