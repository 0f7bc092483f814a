using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>
/// Runs and trials in Table storage. Runs: partition "run", row = run id. Trials: partition = run id, row = trial id,
/// so a run's trials are one partition query and a re-run trial overwrites its own row.
/// </summary>
public sealed class RunStore(PipelineStorage storage)
{
    private const string RunPartition = "run";

    public async Task UpsertRunAsync(RunRecord run, CancellationToken cancellationToken = default) =>
        await storage.Runs.UpsertEntityAsync(ToEntity(run), TableUpdateMode.Replace, cancellationToken);

    private static TableEntity ToEntity(RunRecord run) =>
        new(RunPartition, run.RunId)
        {
            ["Status"] = run.Status.ToString(),
            ["Stage"] = run.Stage,
            ["Source"] = run.Source,
            ["Task"] = run.Task,
            ["ModelName"] = run.ModelName,
            ["ConfigJson"] = run.ConfigJson,
            ["CreatedAt"] = run.CreatedAt,
            ["CompletedAt"] = run.CompletedAt,
            ["BestTrialId"] = run.BestTrialId,
            ["ModelVersion"] = run.ModelVersion,
            ["Promoted"] = run.Promoted,
            ["ResultJson"] = run.ResultJson,
            ["Error"] = run.Error,
        };

    /// <summary>Changes a run's record keeping the rest: read, change, write back conditioned on the ETag read, again
    /// from the read when another writer got there first (a redelivered activity, a cancel), so that no change is
    /// made from a stale read. A change that returns the record it was given writes nothing.</summary>
    public async Task<RunRecord> UpdateRunAsync(string runId, Func<RunRecord, RunRecord> change,
        CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var response = IsValidKey(runId)
                ? await storage.Runs.GetEntityIfExistsAsync<TableEntity>(RunPartition, runId, cancellationToken: cancellationToken)
                : null;
            if (response is not { HasValue: true }) throw new KeyNotFoundException($"Run '{runId}' not found.");
            var run = ToRun(response.Value!);
            var changed = change(run);
            if (ReferenceEquals(changed, run) || changed == run) return run;
            try
            {
                await storage.Runs.UpdateEntityAsync(ToEntity(changed), response.Value!.ETag, TableUpdateMode.Replace,
                    cancellationToken);
                return changed;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
            }
        }
    }

    /// <summary>The run, or null when there is none. An id with characters Table keys refuse ('/', '\', '#', '?',
    /// control characters) cannot name a run: null, rather than the storage error it would cause.</summary>
    public async Task<RunRecord?> GetRunAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (!IsValidKey(runId)) return null;
        var response = await storage.Runs.GetEntityIfExistsAsync<TableEntity>(
            RunPartition, runId, cancellationToken: cancellationToken);
        return response.HasValue ? ToRun(response.Value!) : null;
    }

    /// <summary>Runs, newest first.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListRunsAsync(int top = 100, CancellationToken cancellationToken = default)
    {
        var runs = new List<RunRecord>();
        await foreach (var entity in storage.Runs.QueryAsync<TableEntity>(
                           e => e.PartitionKey == RunPartition, cancellationToken: cancellationToken))
            runs.Add(ToRun(entity));
        return runs.OrderByDescending(r => r.CreatedAt).ThenBy(r => r.RunId, StringComparer.Ordinal).Take(top).ToList();
    }

    public async Task UpsertTrialAsync(TrialRecord trial, CancellationToken cancellationToken = default)
    {
        var entity = new TableEntity(trial.RunId, trial.TrialId)
        {
            ["ParamsJson"] = JsonSerializer.Serialize(trial.Params),
            ["Status"] = trial.Status.ToString(),
            ["Attempts"] = trial.Attempts,
            ["EpochsJson"] = JsonSerializer.Serialize(trial.Epochs),
            ["ValidationMetricsJson"] = JsonSerializer.Serialize(trial.ValidationMetrics),
            ["CheckpointBlob"] = trial.CheckpointBlob,
            ["Error"] = trial.Error,
            ["UpdatedAt"] = trial.UpdatedAt,
            ["Worker"] = trial.Worker,
            ["StoppedAtEpoch"] = trial.StoppedAtEpoch,
        };
        await storage.Trials.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }

    public async Task<TrialRecord?> GetTrialAsync(string runId, string trialId, CancellationToken cancellationToken = default)
    {
        var response = await storage.Trials.GetEntityIfExistsAsync<TableEntity>(
            runId, trialId, cancellationToken: cancellationToken);
        return response.HasValue ? ToTrial(response.Value!) : null;
    }

    /// <summary>A run's trials by trial id.</summary>
    public async Task<IReadOnlyList<TrialRecord>> ListTrialsAsync(string runId, CancellationToken cancellationToken = default)
    {
        var trials = new List<TrialRecord>();
        await foreach (var entity in storage.Trials.QueryAsync<TableEntity>(
                           e => e.PartitionKey == runId, cancellationToken: cancellationToken))
            trials.Add(ToTrial(entity));
        return trials;
    }

    private static RunRecord ToRun(TableEntity e) => new()
    {
        RunId = e.RowKey,
        Status = Enum.Parse<RunStatus>(e.GetString("Status")),
        Stage = e.GetString("Stage"),
        Source = e.GetString("Source") ?? "",
        Task = e.GetString("Task") ?? "",
        ModelName = e.GetString("ModelName") ?? "",
        ConfigJson = e.GetString("ConfigJson"),
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        CompletedAt = e.GetDateTimeOffset("CompletedAt"),
        BestTrialId = e.GetString("BestTrialId"),
        ModelVersion = e.GetInt32("ModelVersion"),
        Promoted = e.GetBoolean("Promoted"),
        ResultJson = e.GetString("ResultJson"),
        Error = e.GetString("Error"),
    };

    private static TrialRecord ToTrial(TableEntity e) => new()
    {
        RunId = e.PartitionKey,
        TrialId = e.RowKey,
        Params = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(e.GetString("ParamsJson") ?? "{}")!,
        Status = Enum.Parse<TrialStatus>(e.GetString("Status")),
        Attempts = e.GetInt32("Attempts") ?? 0,
        Epochs = JsonSerializer.Deserialize<List<EpochMetrics>>(e.GetString("EpochsJson") ?? "[]")!,
        ValidationMetrics = JsonSerializer.Deserialize<Dictionary<string, double>>(
            e.GetString("ValidationMetricsJson") ?? "{}")!,
        CheckpointBlob = e.GetString("CheckpointBlob"),
        Error = e.GetString("Error"),
        UpdatedAt = e.GetDateTimeOffset("UpdatedAt"),
        Worker = e.GetString("Worker"),
        StoppedAtEpoch = e.GetInt32("StoppedAtEpoch"),
    };

    /// <summary>A run's asha rungs: partition "{run}|rungs" (apart from its trials' partition), row
    /// "{epoch:D6}-{trial}", one score each. Returns every score at the rung after writing this one.</summary>
    public async Task<IReadOnlyList<double>> ReportRungAsync(string runId, int rungEpoch, string trialId, double score,
        CancellationToken cancellationToken = default)
    {
        var partition = runId + "|rungs";
        var prefix = rungEpoch.ToString("D6", System.Globalization.CultureInfo.InvariantCulture) + "-";
        await storage.Trials.UpsertEntityAsync(new TableEntity(partition, prefix + trialId) { ["Score"] = score },
            TableUpdateMode.Replace, cancellationToken);
        var scores = new List<double>();
        var end = rungEpoch.ToString("D6", System.Globalization.CultureInfo.InvariantCulture) + ".";
        await foreach (var entity in storage.Trials.QueryAsync<TableEntity>(
                           e => e.PartitionKey == partition && e.RowKey.CompareTo(prefix) >= 0 && e.RowKey.CompareTo(end) < 0,
                           cancellationToken: cancellationToken))
            scores.Add(entity.GetDouble("Score") ?? double.NaN);
        return scores;
    }

    private static bool IsValidKey(string key) =>
        key.Length is > 0 and <= 512 && !key.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c));
}
