using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>Outcome of a promotion attempt.</summary>
public sealed record PromotionResult(bool Promoted, string Reason, int? PreviousProductionVersion);

/// <summary>Who changes a stage and why, recorded in the stage history: the caller the API route identifies, or
/// <see cref="System"/> for the promotion gate of a run.</summary>
public sealed record StageChangeNote(string By, string? Reason = null)
{
    public const string System = "system";
    public static readonly StageChangeNote Gate = new(System);
}

/// <summary>
/// Model versions in Table storage: partition = model name, row = zero-padded version; plus one pointer row per
/// model (<c>~production</c>) naming the production version, and one row per stage change (<c>~history~…</c>).
/// Promotion rewrites the pointer, the new version and the old one in one entity-group transaction conditioned on the
/// pointer's ETag, so of two concurrent promotions exactly one wins and the stages never disagree with the pointer.
/// The history rows of a change are added in that same transaction: a change that wins leaves exactly its entries, one
/// that loses leaves none.
/// </summary>
public sealed class ModelRegistry(PipelineStorage storage, TimeProvider? clock = null)
{
    private const string ProductionPointer = "~production";
    private const string HistoryPrefix = "~history~";
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
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
        var rows = new List<TableEntity>();
        await foreach (var e in storage.Models.QueryAsync<TableEntity>(
                           x => x.PartitionKey == name, cancellationToken: cancellationToken))
            rows.Add(e);
        return WithHistory(rows);
    }

    /// <summary>The version records among <paramref name="rows"/>, each with its stage history (oldest first).</summary>
    private static List<ModelVersionRecord> WithHistory(IEnumerable<TableEntity> rows)
    {
        var versions = new List<TableEntity>();
        var history = new Dictionary<(string, int), List<StageChange>>();
        foreach (var e in rows)
        {
            if (e.RowKey.StartsWith(HistoryPrefix, StringComparison.Ordinal))
            {
                var key = (e.PartitionKey, e.GetInt32("Version")!.Value);
                (history.TryGetValue(key, out var list) ? list : history[key] = []).Add(ToChange(e));
            }
            else if (e.RowKey != ProductionPointer)
                versions.Add(e);
        }
        return versions.Select(e => ToRecord(e) with
        {
            StageHistory = history.TryGetValue((e.PartitionKey, e.GetInt32("Version")!.Value), out var changes)
                ? changes.OrderBy(c => c.At).ToList()
                : [],
        }).ToList();
    }

    /// <summary>All versions of all models, by name then version.</summary>
    public async Task<IReadOnlyList<ModelVersionRecord>> ListAllAsync(CancellationToken cancellationToken = default)
    {
        var rows = new List<TableEntity>();
        await foreach (var e in storage.Models.QueryAsync<TableEntity>(cancellationToken: cancellationToken))
            rows.Add(e);
        return WithHistory(rows).OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.Version).ToList();
    }

    /// <summary>One version, without its stage history (<see cref="ListVersionsAsync"/> has it).</summary>
    public async Task<ModelVersionRecord?> GetVersionAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        var response = await storage.Models.GetEntityIfExistsAsync<TableEntity>(
            name, RowKey(version), cancellationToken: cancellationToken);
        return response.HasValue ? ToRecord(response.Value!) : null;
    }

    /// <summary>The stage changes of one version, oldest first.</summary>
    public async Task<IReadOnlyList<StageChange>> GetHistoryAsync(string name, int version,
        CancellationToken cancellationToken = default)
    {
        var from = HistoryPrefix + RowKey(version) + "~";
        var to = HistoryPrefix + RowKey(version) + "\u007f";
        var changes = new List<StageChange>();
        await foreach (var e in storage.Models.QueryAsync<TableEntity>(
                           x => x.PartitionKey == name && x.RowKey.CompareTo(from) > 0 && x.RowKey.CompareTo(to) < 0,
                           cancellationToken: cancellationToken))
            changes.Add(ToChange(e));
        return changes.OrderBy(c => c.At).ToList();
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
    /// Archived, and the <see cref="ChampionAlias"/> moves; both changes are recorded in the stage history with
    /// <paramref name="note"/> (default: the gate, <see cref="StageChangeNote.System"/>). Returns not promoted when
    /// another promotion got there first.
    /// </summary>
    public async Task<PromotionResult> PromoteAsync(string name, int version, int? expectedProductionVersion,
        StageChangeNote? note = null, CancellationToken cancellationToken = default)
    {
        note ??= StageChangeNote.Gate;
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
        var old = current is { } previous ? await GetVersionEntityAsync(name, previous, cancellationToken) : null;
        // Taken after the reads: a change that wins read the state the previous winner wrote, so the times of the
        // entries of one version follow the order the changes took effect.
        var at = _clock.GetUtcNow();
        actions.Add(HistoryAction(name, version, Enum.Parse<ModelStage>(candidate.GetString("Stage")), ModelStage.Production, note, at));
        candidate["Stage"] = ModelStage.Production.ToString();
        candidate["Aliases"] = ChampionAlias;
        actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, candidate, candidate.ETag));
        if (old != null)
        {
            actions.Add(HistoryAction(name, current!.Value, Enum.Parse<ModelStage>(old.GetString("Stage")), ModelStage.Archived,
                note with { Reason = $"replaced in production by version {version}" + (note.Reason is { } why ? $": {why}" : "") }, at));
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
    /// when a concurrent change to the same model wins. The change goes into the stage history with
    /// <paramref name="note"/>; setting the stage a version already has changes nothing and records nothing.</summary>
    public async Task<ModelVersionRecord> SetStageAsync(string name, int version, ModelStage stage,
        StageChangeNote note, CancellationToken cancellationToken = default)
    {
        ModelNames.Validate(name);
        var entity = await GetVersionEntityAsync(name, version, cancellationToken)
                     ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.");
        var from = Enum.Parse<ModelStage>(entity.GetString("Stage"));
        if (stage == ModelStage.Production)
        {
            var current = (await GetPointerAsync(name, cancellationToken))?.GetInt32("Version");
            var result = await PromoteAsync(name, version, current, note, cancellationToken);
            if (!result.Promoted)
                throw new ConcurrencyConflictException($"Could not promote {name} v{version}: {result.Reason}.");
            return (await GetVersionAsync(name, version, cancellationToken))!;
        }

        if (from == stage) return ToRecord(entity);
        var actions = new List<TableTransactionAction>();
        var pointer = await GetPointerAsync(name, cancellationToken);
        if (pointer?.GetInt32("Version") == version)
            actions.Add(new TableTransactionAction(TableTransactionActionType.Delete, pointer, pointer.ETag));
        actions.Add(HistoryAction(name, version, from, stage, note, _clock.GetUtcNow()));
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

    /// <summary>Adds one history row; its key (version, time, a random part) is new, so the Add fails only with the
    /// whole transaction.</summary>
    private static TableTransactionAction HistoryAction(string name, int version, ModelStage from, ModelStage to,
        StageChangeNote note, DateTimeOffset at) =>
        new(TableTransactionActionType.Add,
            new TableEntity(name, $"{HistoryPrefix}{RowKey(version)}~{at.UtcTicks:D19}~{Guid.NewGuid():N}")
            {
                ["Version"] = version,
                ["From"] = from.ToString(),
                ["To"] = to.ToString(),
                ["By"] = note.By,
                ["Reason"] = note.Reason,
                ["At"] = at,
            });

    private static StageChange ToChange(TableEntity e) => new()
    {
        From = Enum.Parse<ModelStage>(e.GetString("From")),
        To = Enum.Parse<ModelStage>(e.GetString("To")),
        By = e.GetString("By"),
        Reason = e.GetString("Reason"),
        At = e.GetDateTimeOffset("At") ?? default,
    };

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
