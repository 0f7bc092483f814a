using System.Text.Json;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Workers;

/// <summary>What a trial worker does with one work item: downloads the run's dataset (once per run and worker),
/// trains or evaluates through the ports, and writes the results to Blob and Table. Idempotent: a second attempt
/// overwrites the same blobs and the same trial row.</summary>
public sealed class WorkExecutor(ITrialRunner runner, IEvaluator evaluator, ArtifactStore artifacts, RunStore runs,
    TimeProvider clock)
{
    /// <summary>The progress of one attempt at a trial whose record reads <paramref name="running"/>: pass it to
    /// <see cref="TrainAsync"/>; its <see cref="TrialProgress.Epochs"/> go into the outcome record whatever the outcome.</summary>
    public TrialProgress StartProgress(TrialRecord running) => new(runs, running, clock);

    /// <summary>Trains the trial; the trial record shows each epoch as it ends and the outcome at the end.</summary>
    public async Task<TrialOutcome> TrainAsync(TrialInput input, TrialProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var running = progress.Running;
        var workDirectory = Directory.CreateTempSubdirectory($"ca-{input.RunId}-{input.TrialId}-");
        try
        {
            var dataset = await DatasetCache.Shared.GetAsync(artifacts, input.DatasetBlob);
            var checkpointPath = Path.Combine(workDirectory.FullName, "checkpoint.bin");
            var plots = workDirectory.CreateSubdirectory("plots");
            TrialResult result;
            try
            {
                result = await runner.RunAsync(
                    new TrialRequest(input.RunId, input.TrialId, dataset, input.ModelConfig, input.Params, input.Seed,
                        checkpointPath, plots.FullName, progress.Add) { Rungs = new RunRungBoard(runs) },
                    cancellationToken);
            }
            finally
            {
                // Also when the trial is cancelled or fails: the record written next (cancelled, queued, failed) must
                // come after the last progress write, or that write, still running "running", would overwrite it.
                await progress.CloseAsync();
            }
            if (!File.Exists(checkpointPath))
                throw new InvalidOperationException("The trial runner wrote no checkpoint.");

            // The uploads are on every trial's critical path (the next trial waits for this worker): side by side.
            var checkpointBlob = ArtifactNames.Checkpoint(input.RunId, input.TrialId);
            await Task.WhenAll(
                artifacts.UploadFileAsync(checkpointBlob, checkpointPath, cancellationToken),
                UploadFolderAsync(plots.FullName, name => ArtifactNames.Plot(input.RunId, input.TrialId, name), cancellationToken));

            await runs.UpsertTrialAsync(running with
            {
                Status = result.StoppedAtEpoch is null ? TrialStatus.Succeeded : TrialStatus.Stopped,
                StoppedAtEpoch = result.StoppedAtEpoch,
                Epochs = result.Epochs,
                ValidationMetrics = result.ValidationMetrics,
                CheckpointBlob = checkpointBlob,
                Error = null,
                UpdatedAt = clock.GetUtcNow(),
            }, CancellationToken.None);
            return new TrialOutcome(input.TrialId, result.ValidationMetrics, checkpointBlob) { StoppedAtEpoch = result.StoppedAtEpoch };
        }
        finally
        {
            workDirectory.Delete(recursive: true);
        }
    }

    /// <summary>Scores the winner (baselines, plots) and the champion on the run's test split; writes
    /// <c>evaluation.json</c> and the plots under <c>runs/{run}/evaluation/</c>.</summary>
    public async Task<EvaluateOutput> EvaluateAsync(EvaluationWork work, CancellationToken cancellationToken)
    {
        var dataset = await DatasetCache.Shared.GetAsync(artifacts, work.DatasetBlob);
        var workDirectory = Directory.CreateTempSubdirectory($"ca-{work.RunId}-evaluate-");
        try
        {
            var plots = workDirectory.CreateSubdirectory("artifacts").FullName;
            var challenger = await WithCheckpointAsync(work.CheckpointBlob, workDirectory.FullName,
                path => evaluator.EvaluateAsync(dataset, path, plots, cancellationToken), cancellationToken);
            await UploadFolderAsync(plots, name => ArtifactNames.EvaluationFolder(work.RunId) + name, cancellationToken);

            // The champion only needs its own test metrics: the baselines are the challenger's already.
            ChampionScore? champion = null;
            if (work is { ChampionVersion: { } version, ChampionCheckpointBlob: { } championBlob })
                champion = new ChampionScore(version, await WithCheckpointAsync(championBlob, workDirectory.FullName,
                    path => evaluator.ScoreModelAsync(dataset, path, cancellationToken), cancellationToken));

            var output = new EvaluateOutput(challenger, champion);
            await FinishedEvaluation.WriteAsync(artifacts, work.RunId, output, cancellationToken);
            return output;
        }
        finally
        {
            workDirectory.Delete(recursive: true);
        }
    }

    private async Task<T> WithCheckpointAsync<T>(string checkpointBlob, string folder, Func<string, Task<T>> score,
        CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, $"{Guid.NewGuid():N}.bin");
        await artifacts.DownloadToFileAsync(checkpointBlob, path, cancellationToken);
        return await score(path);
    }

    private Task UploadFolderAsync(string folder, Func<string, string> blobName, CancellationToken cancellationToken) =>
        Task.WhenAll(new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories)
            .Select(file => artifacts.UploadFileAsync(
                blobName(Path.GetRelativePath(folder, file.FullName).Replace(Path.DirectorySeparatorChar, '/')),
                file.FullName, cancellationToken)));

    /// <summary>The run's rungs in Table storage (the run id is the search's): shared by all the run's workers.</summary>
    private sealed class RunRungBoard(RunStore runs) : Core.Configuration.IRungBoard
    {
        public Task<IReadOnlyList<double>> ReportAsync(string searchId, int rungEpoch, string trialId, double score,
            CancellationToken cancellationToken) => runs.ReportRungAsync(searchId, rungEpoch, trialId, score, cancellationToken);
    }
}

/// <summary>The epochs one attempt at a trial has reported, written to its record as they end (from the training
/// thread, one write at a time, in order), so <c>GET /api/training/{id}</c> and the UI show a trial's progress while it
/// trains. The worker writes the outcome record (succeeded, cancelled, failed, queued again) with <see cref="Epochs"/>,
/// after the last progress write (<see cref="CloseAsync"/>): a cancelled or failed trial keeps the epochs it ran.</summary>
public sealed class TrialProgress
{
    private readonly RunStore _runs;
    private readonly TimeProvider _clock;
    private readonly List<EpochMetrics> _epochs = [];
    private readonly Lock _lock = new();
    private Task _writes = Task.CompletedTask;
    private bool _closed;

    internal TrialProgress(RunStore runs, TrialRecord running, TimeProvider clock)
    {
        _runs = runs;
        Running = running;
        _clock = clock;
    }

    /// <summary>The record the attempt started with (status running).</summary>
    public TrialRecord Running { get; }

    /// <summary>The epochs reported so far, in order.</summary>
    public IReadOnlyList<EpochMetrics> Epochs
    {
        get
        {
            lock (_lock) return _epochs.ToList();
        }
    }

    internal void Add(EpochMetrics epoch)
    {
        lock (_lock)
        {
            // After the attempt ended, a late epoch must not write "running" over the outcome record.
            if (_closed) return;
            _epochs.Add(epoch);
            var record = Running with { Epochs = _epochs.ToList(), UpdatedAt = _clock.GetUtcNow() };
            // Progress is best effort: a failed write must not fail the trial.
            _writes = _writes.ContinueWith(_ => _runs.UpsertTrialAsync(record), TaskScheduler.Default).Unwrap()
                .ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    /// <summary>Takes no more epochs and waits for the progress writes already queued.</summary>
    internal Task CloseAsync()
    {
        lock (_lock)
        {
            _closed = true;
            return _writes;
        }
    }
}

/// <summary><c>runs/{run}/evaluation.json</c>: a run's evaluation, written last and in one upload, so its presence
/// means the evaluation finished.</summary>
public static class FinishedEvaluation
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Task WriteAsync(ArtifactStore artifacts, string runId, EvaluateOutput output,
        CancellationToken cancellationToken) =>
        artifacts.UploadAsync(ArtifactNames.Evaluation(runId),
            new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(output, Indented)), cancellationToken);

    /// <summary>The evaluation, or null when it has not finished.</summary>
    public static async Task<EvaluateOutput?> ReadAsync(ArtifactStore artifacts, string runId,
        CancellationToken cancellationToken)
    {
        var blob = ArtifactNames.Evaluation(runId);
        if (!await artifacts.ExistsAsync(blob, cancellationToken)) return null;
        await using var stream = await artifacts.OpenReadAsync(blob, cancellationToken);
        return await JsonSerializer.DeserializeAsync<EvaluateOutput>(stream, cancellationToken: cancellationToken);
    }
}
