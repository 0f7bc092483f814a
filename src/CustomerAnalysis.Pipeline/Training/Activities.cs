using System.Text.Json;
using Azure.Storage.Blobs;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Workers;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.Pipeline.Training;

// The activities of TrainingOrchestration. Each may run more than once for the same input (retries, a worker that
// crashed after finishing but before reporting), so each is idempotent: results are keyed by run and trial and
// written with upserts/overwrites, and finished work is detected and not redone.

/// <summary>Reads the source, writes the prepared dataset to Blob, returns its name and split sizes.</summary>
public sealed class PrepareDatasetActivity(
    IDatasetPreparer preparer, ArtifactStore artifacts, RunStore runs, PipelineStorageOptions storageOptions)
    : TaskActivity<PrepareInput, DatasetReference>
{
    public const string Name = nameof(PrepareDatasetActivity);

    public override async Task<DatasetReference> RunAsync(TaskActivityContext context, PrepareInput input)
    {
        // Redelivered after the run moved on (or was cancelled), this changes nothing: see RunProgress.
        await runs.UpdateRunAsync(input.RunId, r => RunProgress.MovesForward(r, RunStatus.Running, TrainingStages.Prepare)
            ? r with { Status = RunStatus.Running, Stage = TrainingStages.Prepare }
            : r);
        var blob = ArtifactNames.Dataset(input.RunId);
        // The dataset blob is written in one upload, so if it exists it is complete: reuse it.
        if (!await artifacts.ExistsAsync(blob))
        {
            using var local = await LocalSource.ResolveAsync(input.Source, storageOptions);
            var dataset = await preparer.PrepareAsync(local.Path, input.Task, input.Options, CancellationToken.None);
            using var buffer = new MemoryStream();
            await DatasetBlobFormat.WriteAsync(dataset, buffer);
            buffer.Position = 0;
            // The summary goes first: a replay that finds the dataset finds its summary too.
            await artifacts.UploadAsync(ArtifactNames.DataSummary(input.RunId),
                new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(dataset.Summary)));
            await artifacts.UploadAsync(blob, buffer);
        }
        var stored = await DatasetCache.Shared.GetAsync(artifacts, blob);
        return new DatasetReference(blob, stored.Train.Count, stored.Validation.Count, stored.Test.Count);
    }
}

/// <summary>Reads one shard's users from the source and writes their part of the dataset to Blob. Run again (a retry,
/// a replay after a crash), it reuses a part already written: the part is uploaded in one call, so it is complete.</summary>
public sealed class PrepareShardActivity(
    IShardPreparer preparer, ArtifactStore artifacts, RunStore runs, PipelineStorageOptions storageOptions)
    : TaskActivity<PrepareShardInput, ShardReference>
{
    public const string Name = nameof(PrepareShardActivity);

    public override async Task<ShardReference> RunAsync(TaskActivityContext context, PrepareShardInput input)
    {
        if (input.Shard == 0)
            await runs.UpdateRunAsync(input.RunId, r => r.Status == RunStatus.Cancelled
                ? r
                : r with { Status = RunStatus.Running, Stage = TrainingStages.Prepare });
        var blob = ArtifactNames.DatasetShard(input.RunId, input.Shard, input.Shards);
        if (await artifacts.ExistsAsync(blob))
            return new ShardReference(blob, input.Shard, -1);
        var shard = new Core.Events.UserShard(input.Shard, input.Shards);
        // Each shard resolves (for blob://, downloads) the source itself: activities may run on different machines.
        using var local = await LocalSource.ResolveAsync(input.Source, storageOptions);
        var part = await preparer.PrepareShardAsync(local.Path, input.Task, input.Options, shard, CancellationToken.None);
        using var buffer = new MemoryStream();
        await DatasetBlobFormat.WriteShardAsync(part, buffer);
        buffer.Position = 0;
        await artifacts.UploadAsync(blob, buffer);
        return new ShardReference(blob, input.Shard, part.Sequences.Count);
    }
}

/// <summary>Merges the parts of every shard (<see cref="DatasetPreparer.Merge"/>) into the run's dataset blob, the one
/// the trials read. Idempotent like <see cref="PrepareDatasetActivity"/>.</summary>
public sealed class MergeShardsActivity(ArtifactStore artifacts) : TaskActivity<MergeShardsInput, DatasetReference>
{
    public const string Name = nameof(MergeShardsActivity);

    public override async Task<DatasetReference> RunAsync(TaskActivityContext context, MergeShardsInput input)
    {
        var blob = ArtifactNames.Dataset(input.RunId);
        if (!await artifacts.ExistsAsync(blob))
        {
            var parts = new List<PreparedShard>(input.Shards);
            for (var k = 0; k < input.Shards; k++)
            {
                await using var stream = await artifacts.OpenReadAsync(ArtifactNames.DatasetShard(input.RunId, k, input.Shards));
                parts.Add(await DatasetBlobFormat.ReadShardAsync(stream));
            }
            var dataset = DatasetPreparer.Merge(parts);
            parts.Clear();
            using var buffer = new MemoryStream();
            await DatasetBlobFormat.WriteAsync(dataset, buffer);
            buffer.Position = 0;
            await artifacts.UploadAsync(blob, buffer);
        }
        var stored = await DatasetCache.Shared.GetAsync(artifacts, blob);
        return new DatasetReference(blob, stored.Train.Count, stored.Validation.Count, stored.Test.Count);
    }
}

/// <summary>Puts one trial on the trial queue for a worker and records it as queued. Run again for the same trial
/// (a replay after a crash), it does not queue finished work twice: it reports the recorded end instead.</summary>
public sealed class DispatchTrialActivity(WorkQueues queues, RunStore runs, TimeProvider clock)
    : TaskActivity<TrialInput, bool>
{
    public const string Name = nameof(DispatchTrialActivity);

    public override async Task<bool> RunAsync(TaskActivityContext context, TrialInput input)
    {
        var existing = await runs.GetTrialAsync(input.RunId, input.TrialId);
        if (existing is { IsFinished: true })
        {
            await queues.CompleteAsync(CheckWorkActivity.FromRecord(existing));
            return false;
        }
        if (existing is null)
            await runs.UpsertTrialAsync(new TrialRecord
            {
                RunId = input.RunId, TrialId = input.TrialId, Params = input.Params, Status = TrialStatus.Queued,
                UpdatedAt = clock.GetUtcNow(),
            });
        // Queued or running already: queue it again anyway. A duplicate of live work finds it running or finished
        // and only reports; a lost message (the crash came between record and send) is replaced.
        await queues.EnqueueAsync(WorkItem.ForTrial(input));
        return true;
    }
}

/// <summary>Puts the run's evaluation on the trial queue: the winner and the current production model, scored by a
/// worker on this run's test split.</summary>
public sealed class DispatchEvaluationActivity(WorkQueues queues, ModelRegistry registry)
    : TaskActivity<EvaluateInput, bool>
{
    public const string Name = nameof(DispatchEvaluationActivity);

    public override async Task<bool> RunAsync(TaskActivityContext context, EvaluateInput input)
    {
        var production = await registry.GetProductionAsync(input.ModelName);
        var champion = production != null && production.RunId != input.RunId ? production : null;
        await queues.EnqueueAsync(WorkItem.ForEvaluation(new EvaluationWork(input.RunId, input.ModelName,
            input.DatasetBlob, input.CheckpointBlob, champion?.Version, champion?.CheckpointBlob)));
        return true;
    }
}

/// <summary>The fallback when no completion arrived in time: reads the records of the work still awaited and
/// returns the completions of what has ended. With <see cref="CheckWorkInput.GiveUp"/> (the deadline passed), the
/// rest is recorded failed and returned as failed, so the run goes on without it.</summary>
public sealed class CheckWorkActivity(RunStore runs, ArtifactStore artifacts, TimeProvider clock)
    : TaskActivity<CheckWorkInput, IReadOnlyList<WorkCompletion>>
{
    public const string Name = nameof(CheckWorkActivity);

    public override async Task<IReadOnlyList<WorkCompletion>> RunAsync(TaskActivityContext context, CheckWorkInput input)
    {
        var found = new List<WorkCompletion>();
        foreach (var workId in input.WorkIds)
        {
            if (workId == WorkEvents.EvaluationId)
            {
                if (await FinishedEvaluation.ReadAsync(artifacts, input.RunId, CancellationToken.None) is { } evaluation)
                    found.Add(new WorkCompletion { RunId = input.RunId, WorkId = workId, Succeeded = true, Evaluation = evaluation });
                else if (input.GiveUp)
                    found.Add(new WorkCompletion { RunId = input.RunId, WorkId = workId, Succeeded = false, Error = NotInTime });
                continue;
            }
            var trial = await runs.GetTrialAsync(input.RunId, workId);
            if (trial is { IsFinished: true })
                found.Add(FromRecord(trial));
            else if (input.GiveUp)
            {
                if (trial != null)
                    await runs.UpsertTrialAsync(trial with
                    {
                        Status = TrialStatus.Failed, Error = NotInTime, UpdatedAt = clock.GetUtcNow(),
                    });
                found.Add(new WorkCompletion { RunId = input.RunId, WorkId = workId, Succeeded = false, Error = NotInTime });
            }
        }
        return found;
    }

    private const string NotInTime = "no trial worker finished it before the run's deadline (workers.deadline_minutes)";

    internal static WorkCompletion FromRecord(TrialRecord record) => new()
    {
        RunId = record.RunId,
        WorkId = record.TrialId,
        Succeeded = record.HasModel,
        Trial = record is { HasModel: true, CheckpointBlob: { } blob }
            ? new TrialOutcome(record.TrialId, record.ValidationMetrics, blob) { StoppedAtEpoch = record.StoppedAtEpoch }
            : null,
        Error = record.HasModel ? null : record.Error ?? record.Status.ToString(),
    };
}

/// <summary>Registers the winner as a new model version (the same version if this run registered already).</summary>
public sealed class RegisterActivity(ModelRegistry registry, TimeProvider clock) : TaskActivity<RegisterInput, int>
{
    public const string Name = nameof(RegisterActivity);

    public override async Task<int> RunAsync(TaskActivityContext context, RegisterInput input) =>
        (await registry.RegisterAsync(input.ModelName, input.RunId, PredictionTasks.Name(input.Task),
            input.CheckpointBlob, input.TestMetrics, clock.GetUtcNow())).Version;
}

/// <summary>Promotes the new version if it beats the best baseline (a model no better than, say, the majority class
/// is never served on its own) and then the production model (champion/challenger), all scored on this run's test
/// split on the run's metric. A version held back by a baseline is recorded so (<see cref="ModelRegistry.HoldBackAsync"/>;
/// promoting it by hand needs force), also when it is the first of its name. The swap is conditioned on production
/// still being that champion.</summary>
public sealed class PromoteActivity(ModelRegistry registry, IEnumerable<IPromotionListener> listeners)
    : TaskActivity<PromoteInput, PromoteOutput>
{
    public const string Name = nameof(PromoteActivity);

    public override async Task<PromoteOutput> RunAsync(TaskActivityContext context, PromoteInput input)
    {
        // A metric left out as NaN (undefined on this test split) never beats a number: the shared rule decides.
        var metric = input.Metric;
        var challenger = input.ChallengerMetrics.GetValueOrDefault(metric, double.NaN);
        var baseline = BestBaseline(input);
        if (baseline is { } best && !MetricNames.IsBetter(metric, challenger, best.Score))
        {
            var heldBack = $"test {metric} {challenger:0.####} does not beat the {best.Name} baseline ({best.Score:0.####})";
            await registry.HoldBackAsync(input.ModelName, input.Version, heldBack);
            return new PromoteOutput(false, heldBack);
        }
        var beatsBaseline = baseline is { } b
            ? $"beats the {b.Name} baseline ({b.Score:0.####})"
            : $"no baseline reports {metric}";

        string reason;
        if (input.Champion is null)
            reason = $"test {metric} {challenger:0.####} {beatsBaseline}; no production model";
        else
        {
            var champion = input.Champion.TestMetrics.GetValueOrDefault(metric, double.NaN);
            if (!MetricNames.IsBetter(metric, challenger, champion))
                return new PromoteOutput(false,
                    $"test {metric} {challenger:0.####} does not beat production v{input.Champion.Version} ({champion:0.####})");
            reason = $"test {metric} {challenger:0.####} {beatsBaseline} and production v{input.Champion.Version} ({champion:0.####})";
        }

        var result = await registry.PromoteAsync(input.ModelName, input.Version, input.Champion?.Version,
            new StageChangeNote(StageChangeNote.System, "promotion gate: " + reason));
        if (!result.Promoted)
            return new PromoteOutput(false, result.Reason);
        foreach (var listener in listeners)
            listener.OnPromoted(input.ModelName, input.Version);
        return new PromoteOutput(true, reason);
    }

    /// <summary>The baseline with the best score on the metric; baselines that do not report it (or leave it undefined)
    /// are not compared.</summary>
    private static (string Name, double Score)? BestBaseline(PromoteInput input)
    {
        (string Name, double Score)? best = null;
        foreach (var (name, metrics) in (input.Baselines ?? new Dictionary<string, IReadOnlyDictionary<string, double>>())
                     .OrderBy(b => b.Key, StringComparer.Ordinal))
            if (metrics.TryGetValue(input.Metric, out var score) && !double.IsNaN(score)
                && (best is null || MetricNames.IsBetter(input.Metric, score, best.Value.Score)))
                best = (name, score);
        return best;
    }
}

/// <summary>Told when this process promotes a model (e.g. the prediction cache swaps models at once).</summary>
public interface IPromotionListener
{
    void OnPromoted(string modelName, int version);
}

/// <summary>Writes the run's status, stage and result to the runs table, only ever forward.</summary>
public sealed class UpdateRunActivity(RunStore runs, TimeProvider clock) : TaskActivity<RunUpdate, bool>
{
    public const string Name = nameof(UpdateRunActivity);

    public override async Task<bool> RunAsync(TaskActivityContext context, RunUpdate input)
    {
        var finished = input.Status is RunStatus.Completed or RunStatus.Failed;
        // An update delivered again after a later one (activities run at least once) or still in flight when the run
        // was cancelled changes nothing: a run's record only moves forward (RunProgress).
        await runs.UpdateRunAsync(input.RunId, r => !RunProgress.MovesForward(r, input.Status, input.Stage) ? r : r with
        {
            Status = input.Status,
            Stage = input.Stage,
            BestTrialId = input.BestTrialId ?? r.BestTrialId,
            ModelVersion = input.ModelVersion ?? r.ModelVersion,
            Promoted = input.Promoted ?? r.Promoted,
            ResultJson = input.ResultJson ?? r.ResultJson,
            Error = input.Error,
            CompletedAt = finished ? clock.GetUtcNow() : null,
        });
        return true;
    }
}

/// <summary>A source as a local path: <c>blob://container/prefix</c> is downloaded to a temporary folder (deleted on
/// dispose); anything else is passed through as it is.</summary>
internal sealed class LocalSource : IDisposable
{
    private readonly string? _temporary;

    private LocalSource(string path, string? temporary)
    {
        Path = path;
        _temporary = temporary;
    }

    public string Path { get; }

    public static async Task<LocalSource> ResolveAsync(string source, PipelineStorageOptions storage)
    {
        const string scheme = "blob://";
        if (!source.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return new LocalSource(source, null);

        var rest = source[scheme.Length..];
        var slash = rest.IndexOf('/');
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (container.Length == 0)
            throw new InvalidInputException($"Source '{source}' names no container: use blob://container/prefix.");

        var client = storage.CreateBlobServiceClient().GetBlobContainerClient(container);
        var folder = Directory.CreateTempSubdirectory("ca-source-").FullName;
        try
        {
            var count = 0;
            await foreach (var item in client.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
            {
                // A prefix naming one blob exactly leaves no relative name: keep the blob's file name.
                var relativeName = item.Name.Length > prefix.Length ? item.Name[prefix.Length..] : item.Name.Split('/')[^1];
                var target = TargetPath(folder, relativeName, source);
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                await client.GetBlobClient(item.Name).DownloadToAsync(target);
                count++;
            }
            if (count == 0)
                throw new InvalidInputException($"Source '{source}' matches no blobs.");
            return new LocalSource(folder, folder);
        }
        catch
        {
            // Nothing is handed out on failure, so nothing else would delete the partial download.
            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>Where a blob (its name after the prefix) is downloaded; a name that would leave the folder
    /// (<c>../</c>, an absolute path) is refused.</summary>
    internal static string TargetPath(string folder, string relativeName, string source)
    {
        var root = System.IO.Path.GetFullPath(folder).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        var target = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, relativeName.TrimStart('/')));
        if (!target.StartsWith(root + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidInputException(
                $"Source '{source}' holds a blob name that leaves the download folder: '{relativeName}'.");
        return target;
    }

    public void Dispose()
    {
        if (_temporary != null && Directory.Exists(_temporary))
            Directory.Delete(_temporary, recursive: true);
    }
}

/// <summary>Keeps the last datasets read from Blob so the trials of a run on one worker download theirs once.</summary>
internal sealed class DatasetCache
{
    public static DatasetCache Shared { get; } = new();

    private const int Capacity = 2;
    private readonly LinkedList<(string Blob, Task<Core.Preparation.PreparedDataset> Dataset)> _entries = new();
    private readonly Lock _lock = new();

    public Task<Core.Preparation.PreparedDataset> GetAsync(ArtifactStore artifacts, string blob)
    {
        lock (_lock)
        {
            for (var node = _entries.First; node != null; node = node.Next)
                if (node.Value.Blob == blob && !node.Value.Dataset.IsFaulted)
                    return node.Value.Dataset;
            var load = LoadAsync(artifacts, blob);
            _entries.AddFirst((blob, load));
            while (_entries.Count > Capacity) _entries.RemoveLast();
            return load;
        }
    }

    private static async Task<Core.Preparation.PreparedDataset> LoadAsync(ArtifactStore artifacts, string blob)
    {
        await using var stream = await artifacts.OpenReadAsync(blob);
        return await DatasetBlobFormat.ReadAsync(stream);
    }
}
