using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>The steps of a scoring run that the pipeline's activities, <c>ca score</c> and the benchmark share: read a
/// shard's candidates, then (once the end of the whole data is known) score the ones whose turn it is.</summary>
public static class ShardScoring
{
    /// <summary>Reads the users of <paramref name="shard"/> from <paramref name="source"/> and finds their scoring
    /// candidates (<see cref="DatasetPreparer.PrepareScoringShard"/>). A shard may hold no users.</summary>
    public static async Task<ScoringShard> ReadAsync(IEventSource source, PredictionTask task, PrepareOptions options,
        UserShard shard, IProgress<ReadProgress>? progress, CancellationToken cancellationToken)
    {
        var events = await source.ReadShardAsync(shard, progress, cancellationToken: cancellationToken);
        return DatasetPreparer.PrepareScoringShard(events, task, options, shard);
    }

    /// <summary>Scores the candidates of <paramref name="shard"/> that <see cref="ScoringShard.IsScored"/> at
    /// <paramref name="endOfData"/>, and counts who was left out and why.</summary>
    public static async Task<(IReadOnlyList<UserScore> Scores, ScoringCounts Counts)> ScoreAsync(IBatchScorer scorer,
        string checkpointPath, ScoringShard shard, long endOfData, int top, CancellationToken cancellationToken)
    {
        var members = new List<int>(shard.Sequences.Count);
        for (var i = 0; i < shard.Sequences.Count; i++)
            if (shard.IsScored(shard.Sequences[i], endOfData)) members.Add(i);
        var scores = members.Count == 0
            ? []
            : await scorer.ScoreAsync(checkpointPath, shard, members, top, cancellationToken);
        return (scores, new ScoringCounts
        {
            Users = shard.Users,
            Scored = scores.Count,
            NoEngagement = shard.NoEngagement,
            Bounced = shard.Bounced,
            WindowIncomplete = shard.Sequences.Count - members.Count,
        });
    }

    public static DateTimeOffset ToTime(long microseconds) =>
        DateTimeOffset.UnixEpoch.AddTicks(microseconds * (TimeSpan.TicksPerMillisecond / 1000));
}

/// <summary>A scoring run in this process into a folder (<c>ca score</c>, the benchmark): shard by shard, the
/// candidates of each shard kept (they are small: one input per user), then every shard scored against the end of
/// the whole data and written as <c>part-NNNNN.parquet</c> and <c>.csv</c>, then <c>manifest.json</c> last (a folder
/// without it is not a finished run). Parts of an earlier run with more shards are deleted.</summary>
public static class FolderScoring
{
    /// <param name="Source">The export to read (null with <see cref="WriteAsync"/>, whose candidates are given).</param>
    public sealed record Request(
        IEventSource? Source, string SourceDescription, PredictionTask Task, PrepareOptions Options, int Shards,
        string CheckpointPath, ScoringModel Model, int Top, string RunId, DateTimeOffset Created, string Folder);

    public static async Task<ScoringManifest> RunAsync(IBatchScorer scorer, Request request,
        Action<string>? report = null, CancellationToken cancellationToken = default)
    {
        var source = request.Source ?? throw new ArgumentException("The request names no source to read.", nameof(request));
        var shards = new List<ScoringShard>(request.Shards);
        for (var k = 0; k < request.Shards; k++)
        {
            shards.Add(await ShardScoring.ReadAsync(source, request.Task, request.Options,
                new UserShard(k, request.Shards), null, cancellationToken));
            report?.Invoke($"shard {k + 1}/{request.Shards} read");
        }
        return await WriteAsync(scorer, request, shards, report, cancellationToken);
    }

    /// <summary>Scores candidates already found (<paramref name="shards"/>, one part each) into the folder.</summary>
    public static async Task<ScoringManifest> WriteAsync(IBatchScorer scorer, Request request, IReadOnlyList<ScoringShard> shards,
        Action<string>? report = null, CancellationToken cancellationToken = default)
    {
        var latest = shards.Max(s => s.MaxTimestamp);
        var endOfData = ScoringShard.EndOfData([latest]);
        Directory.CreateDirectory(request.Folder);
        var parts = new List<ScorePart>();
        var counts = new ScoringCounts();
        foreach (var shard in shards)
        {
            var (scores, shardCounts) = await ShardScoring.ScoreAsync(scorer, request.CheckpointPath, shard, endOfData,
                request.Top, cancellationToken);
            var rows = ScorePartFiles.Rows(scores, request.Model, request.Task, request.Created);
            var part = new ScorePart(shard.Shard, ScorePartFiles.ParquetName(shard.Shard), ScorePartFiles.CsvName(shard.Shard), rows.Count);
            await using (var parquet = File.Create(Path.Combine(request.Folder, part.Parquet)))
                await ScorePartFiles.WriteParquetAsync(rows, parquet, cancellationToken);
            await using (var csv = File.Create(Path.Combine(request.Folder, part.Csv)))
                await ScorePartFiles.WriteCsvAsync(rows, csv, cancellationToken);
            parts.Add(part);
            counts = counts.Add(shardCounts);
            report?.Invoke($"shard {shard.Shard + 1}/{shards.Count} scored ({rows.Count:N0} users)");
        }
        var kept = parts.SelectMany(p => new[] { p.Parquet, p.Csv }).ToHashSet(StringComparer.Ordinal);
        foreach (var stale in Directory.EnumerateFiles(request.Folder, "part-*"))
            if (!kept.Contains(Path.GetFileName(stale))) File.Delete(stale);
        var manifest = new ScoringManifest
        {
            ScoringRun = request.RunId, Task = PredictionTasks.Name(request.Task), Model = request.Model,
            Source = request.SourceDescription, Created = request.Created, EndOfData = latest is { } end ? ShardScoring.ToTime(end) : null,
            Top = request.Task == PredictionTask.Events ? request.Top : null,
            Rows = parts.Sum(p => p.Rows), Counts = counts, Parts = parts,
        };
        await File.WriteAllBytesAsync(Path.Combine(request.Folder, ScoringManifest.FileName), manifest.ToJsonBytes(), cancellationToken);
        return manifest;
    }
}
