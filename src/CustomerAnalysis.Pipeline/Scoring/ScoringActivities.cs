using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.DurableTask;

namespace CustomerAnalysis.Pipeline.Scoring;

// The activities of ScoringOrchestration. Each may run more than once (retries, a host that crashed after the work
// but before reporting): everything is keyed by run and shard and written by overwrite or upsert, and a shard's
// candidates, once uploaded (one call: complete), are reused.

/// <summary>Reads the source shard by shard through Ingestion (<c>blob://</c> downloaded first).</summary>
public sealed class ExportScoringShardReader(PipelineStorageOptions storage) : IScoringShardReader
{
    public async Task<ScoringShard> ReadAsync(string source, PredictionTask task, PrepareOptions options, UserShard shard,
        CancellationToken cancellationToken)
    {
        using var local = await LocalSource.ResolveAsync(source, storage);
        return await ShardScoring.ReadAsync(EventSources.Open(local.Path, EventSourceOptions.FromEnvironment() with { Signals = options.SignalSet }),
            task, options, shard, null, cancellationToken);
    }
}

internal static class ScoringBlobs
{
    private static readonly JsonSerializerOptions Json = new();

    public static async Task<byte[]> ToGzipJsonAsync<T>(T value)
    {
        using var buffer = new MemoryStream();
        await using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            await JsonSerializer.SerializeAsync(gzip, value, Json);
        return buffer.ToArray();
    }

    public static async Task<T> ReadGzipJsonAsync<T>(ArtifactStore artifacts, string blob)
    {
        await using var stream = await artifacts.OpenReadAsync(blob);
        await using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        return await JsonSerializer.DeserializeAsync<T>(gzip, Json) ?? throw new InvalidDataException($"Blob '{blob}' holds null.");
    }
}

/// <summary>Reads one shard's users (with the GA4 signals the run's model reads) and uploads their scoring
/// candidates; returns the shard's latest event, so the orchestration knows the end of the whole data before
/// anything is scored.</summary>
public sealed class ReadScoringShardActivity(IScoringShardReader reader, IBatchScorer scorer, ArtifactStore artifacts)
    : TaskActivity<ReadScoringShardInput, ScoringShardReference>
{
    public const string Name = nameof(ReadScoringShardActivity);

    public override async Task<ScoringShardReference> RunAsync(TaskActivityContext context, ReadScoringShardInput input)
    {
        var blob = ScoringNames.Inputs(input.RunId, input.Shard, input.Shards);
        ScoringShard shard;
        if (await artifacts.ExistsAsync(blob))
            shard = await ScoringBlobs.ReadGzipJsonAsync<ScoringShard>(artifacts, blob);
        else
        {
            var options = input.Options;
            if (input.Model is { } model)
            {
                // The checkpoint is the one the scoring activity loads next (cached per process).
                var signals = await scorer.SignalsOfAsync(await LocalCheckpoints.GetAsync(artifacts, model.Checkpoint), CancellationToken.None);
                options = options with { Signals = signals.IsEmpty ? null : signals };
            }
            shard = await reader.ReadAsync(input.Source, input.Task, options, new UserShard(input.Shard, input.Shards),
                CancellationToken.None);
            await artifacts.UploadAsync(blob, new MemoryStream(await ScoringBlobs.ToGzipJsonAsync(shard)));
        }
        return new ScoringShardReference(blob, input.Shard, shard.MaxTimestamp, shard.Sequences.Count);
    }
}

/// <summary>Scores one shard's candidates against the end of the whole data, writes its Parquet and CSV part
/// (overwriting) and upserts its users' lookups. The same input writes the same bytes: the rows' order, batches and
/// <c>scored_at</c> depend only on the run.</summary>
public sealed class ScoreShardActivity(IBatchScorer scorer, ArtifactStore artifacts, ScoreStore lookups)
    : TaskActivity<ScoreShardInput, ScoredPart>
{
    public const string Name = nameof(ScoreShardActivity);

    public override async Task<ScoredPart> RunAsync(TaskActivityContext context, ScoreShardInput input)
    {
        var run = input.Run;
        var shard = await ScoringBlobs.ReadGzipJsonAsync<ScoringShard>(artifacts,
            ScoringNames.Inputs(input.RunId, input.Shard, run.Shards));
        var checkpoint = await LocalCheckpoints.GetAsync(artifacts, run.Model.Checkpoint);
        var (scores, counts) = await ShardScoring.ScoreAsync(scorer, checkpoint, shard, input.EndOfData, run.Top,
            CancellationToken.None);

        var rows = ScorePartFiles.Rows(scores, run.Model, run.Task, run.Created);
        var part = new ScorePart(input.Shard, ScoringNames.Part(input.RunId, ScorePartFiles.ParquetName(input.Shard)),
            ScoringNames.Part(input.RunId, ScorePartFiles.CsvName(input.Shard)), rows.Count);
        using (var parquet = new MemoryStream())
        {
            await ScorePartFiles.WriteParquetAsync(rows, parquet);
            parquet.Position = 0;
            await artifacts.UploadAsync(part.Parquet, parquet);
        }
        using (var csv = new MemoryStream())
        {
            await ScorePartFiles.WriteCsvAsync(rows, csv);
            csv.Position = 0;
            await artifacts.UploadAsync(part.Csv, csv);
        }
        if (await lookups.ClaimAsync(run.Model.Name, input.RunId, run.Created, CancellationToken.None))
            await lookups.UpsertAsync(run.Model, PredictionTasks.Name(run.Task), input.RunId, run.Created, scores,
                CancellationToken.None);
        return new ScoredPart(part, counts);
    }
}

/// <summary>Writes <c>manifest.json</c> once every part is written: its presence means the run is complete.</summary>
public sealed class WriteScoringManifestActivity(ArtifactStore artifacts) : TaskActivity<WriteScoringManifestInput, ScoringResult>
{
    public const string Name = nameof(WriteScoringManifestActivity);

    public override async Task<ScoringResult> RunAsync(TaskActivityContext context, WriteScoringManifestInput input)
    {
        var parts = input.Parts.OrderBy(p => p.Part.Shard).ToList();
        var counts = parts.Aggregate(new ScoringCounts(), (sum, p) => sum.Add(p.Counts));
        var manifest = new ScoringManifest
        {
            ScoringRun = input.RunId, Task = PredictionTasks.Name(input.Run.Task), Model = input.Run.Model,
            Source = input.Run.Source, Created = input.Run.Created, EndOfData = ShardScoring.ToTime(input.EndOfData),
            Top = input.Run.Task == PredictionTask.Events ? input.Run.Top : null,
            Rows = parts.Sum(p => p.Part.Rows), Counts = counts, Parts = parts.Select(p => p.Part).ToList(),
        };
        var blob = ScoringNames.Manifest(input.RunId);
        await artifacts.UploadAsync(blob, new MemoryStream(manifest.ToJsonBytes()));
        return new ScoringResult(blob, manifest.Rows, counts);
    }
}

/// <summary>Whether a training run is pending or running (the nightly scoring waits for the retraining).</summary>
public sealed class TrainingActiveActivity(RunStore runs) : TaskActivity<string, bool>
{
    public const string Name = nameof(TrainingActiveActivity);

    public override async Task<bool> RunAsync(TaskActivityContext context, string scoringRunId) =>
        (await runs.ListRunsAsync()).Any(r => r.Status is RunStatus.Pending or RunStatus.Running);
}

/// <summary>Checkpoints downloaded once per process into the temp folder, named by a hash of the blob name (a
/// registered version's checkpoint never changes).</summary>
internal static class LocalCheckpoints
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<string> GetAsync(ArtifactStore artifacts, string blob)
    {
        var folder = Path.Combine(Path.GetTempPath(), "ca-scoring-models");
        var path = Path.Combine(folder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(artifacts.ContainerName + "/" + blob)))[..32] + ".ckpt");
        await Gate.WaitAsync();
        try
        {
            if (File.Exists(path)) return path;
            Directory.CreateDirectory(folder);
            var partial = path + $".{Guid.NewGuid():N}.tmp";
            await artifacts.DownloadToFileAsync(blob, partial);
            File.Move(partial, path, overwrite: true);
            return path;
        }
        finally
        {
            Gate.Release();
        }
    }
}
