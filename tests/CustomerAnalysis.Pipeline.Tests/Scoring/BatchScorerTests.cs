using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Training;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Serving.Scoring;
using Parquet.Serialization;

namespace CustomerAnalysis.Pipeline.Tests.Scoring;

public sealed class BatchScorerTests : IDisposable
{
    private readonly TorchBatchScorer _scorer = new();
    private readonly string _out = Directory.CreateTempSubdirectory("ca-scores-").FullName;

    public void Dispose()
    {
        _scorer.Dispose();
        Directory.Delete(_out, recursive: true);
    }

    [Fact]
    public async Task Churn_scores_every_labelled_user_with_the_calibrated_probability_one_at_a_time_would_give()
    {
        var export = await ScoringTestData.ExportAsync();
        var checkpoint = await ScoringTestData.CheckpointAsync(PredictionTask.Churn);
        var events = await EventSources.Open(export).ReadTableAsync();
        var dataset = DatasetPreparer.Prepare(events, PredictionTask.Churn, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
        var labelled = dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).Concat(dataset.ValidationRecent).ToDictionary(e => e.User);

        var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Churn, PrepareOptions.Default, UserShard.Whole);
        var (scores, counts) = await ShardScoring.ScoreAsync(_scorer, checkpoint, shard,
            ScoringShard.EndOfData([shard.MaxTimestamp]), top: 3, CancellationToken.None);

        // The users the training labels keep (engaged, not bounced, window complete) and no one else.
        Assert.True(labelled.Count > 300, $"only {labelled.Count} labelled users");
        Assert.Equal(labelled.Keys.Order(StringComparer.Ordinal), scores.Select(s => s.User).Order(StringComparer.Ordinal));
        Assert.Equal(counts.Users, counts.Scored + counts.NoEngagement + counts.Bounced + counts.WindowIncomplete);
        Assert.True(counts.WindowIncomplete > 0 && counts.Bounced > 0);

        // Batched and padded by length, each user's probability is the one a single prediction gives.
        using var predictor = Predictor.Load(File.OpenRead(checkpoint));
        foreach (var score in scores.Where((_, i) => i % 25 == 0))
        {
            var example = labelled[score.User];
            var single = predictor.Predict([new SessionInput(example.Tokens.Select(dataset.Vocabulary.Decode).ToArray(),
                example.GapSeconds.Select(g => (double)g).ToArray())], top: 1)[0];
            Assert.InRange(Math.Abs(single.ChurnProbability!.Value - score.ChurnProbability!.Value), 0, 1e-5);
            Assert.Equal(single.Churns, score.Churned);
        }
        // Calibrated: not the raw sigmoid (the checkpoint's Platt scaling is not the identity).
        Assert.Contains(scores, s => s.ChurnProbability is > 0 and < 1);
    }

    [Theory]
    [InlineData("")]
    [InlineData(", \"aggregate_features\": \"trees\"")] // wide and deep: the scorer computes the aggregates as evaluation did
    [InlineData(", \"aggregate_features\": \"trees\", \"ensemble_size\": 2")] // a seed ensemble (each member's scaler fitted)
    public async Task A_churn_model_blended_with_trees_is_scored_in_batch_exactly_as_it_was_evaluated(string init)
    {
        var export = await ScoringTestData.ExportAsync();
        var events = await EventSources.Open(export).ReadTableAsync();
        var dataset = DatasetPreparer.Prepare(events, PredictionTask.Churn, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
        var config = NnConfig.Parse($$"""
            {
              "model_type": "rnn",
              "model_init_params": { "embedding_size": 8, "hidden_size": 8, "use_time_gaps": true, "max_sequence_length": 40 {{init}} },
              "model_training_params": { "task": "churn", "device": "cpu", "num_epochs": 1 },
              "pipeline_params": { "grid_search_metric": "roc_auc", "combine_with_trees": "blend" }
            }
            """);
        var result = Trainer.Train(dataset, config, PredictionScoring.ValidationMetricFor(config), new TrainingRun(1, 3));
        using var model = result.Model;
        var checkpoint = ModelCheckpoint.ForServing(result, dataset);
        Assert.NotNull(checkpoint.TreesBlend);
        Assert.Equal(init.Length > 0, checkpoint.Model.Aggregates is not null);
        var path = Path.Combine(_out, "blended.ckpt");
        await using (var file = File.Create(path)) checkpoint.Write(file);
        var evaluated = TestEvaluator.Evaluate(dataset, checkpoint).ModelPredictions;

        var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Churn, PrepareOptions.Default, UserShard.Whole);
        var (scores, _) = await ShardScoring.ScoreAsync(_scorer, path, shard,
            ScoringShard.EndOfData([shard.MaxTimestamp]), top: 3, CancellationToken.None);
        var byUser = scores.ToDictionary(s => s.User);
        for (var i = 0; i < dataset.Test.Count; i++)
            Assert.InRange(Math.Abs(evaluated.Probabilities[i] - byUser[dataset.Test[i].User].ChurnProbability!.Value), 0, 1e-5);
    }

    [Fact]
    public async Task Next_event_scores_every_users_latest_session_as_the_predictor_would()
    {
        var export = await ScoringTestData.ExportAsync();
        var checkpoint = await ScoringTestData.CheckpointAsync(PredictionTask.Events);
        var events = await EventSources.Open(export).ReadTableAsync();
        var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Events, PrepareOptions.Default, UserShard.Whole);

        var (scores, counts) = await ShardScoring.ScoreAsync(_scorer, checkpoint, shard, 0, top: 4, CancellationToken.None);

        Assert.Equal(events.Users.Count, scores.Count);
        Assert.Equal(events.Users.Count, counts.Scored);
        using var predictor = Predictor.Load(File.OpenRead(checkpoint));
        for (var i = 0; i < scores.Count; i += 40)
        {
            var sequence = shard.Sequences[i];
            Assert.Equal(sequence.User, scores[i].User);
            var single = predictor.Predict([new SessionInput(sequence.Names.Select(n => shard.EventNames[n]).ToArray(),
                sequence.GapSeconds.Select(g => (double)g).ToArray())], top: 4)[0];
            Assert.Equal(single.TopEvents.Select(e => e.Event), scores[i].TopEvents.Select(e => e.Event));
            Assert.InRange(Math.Abs(single.TopEvents[0].Probability - scores[i].TopEvents[0].Probability), 0, 1e-5);
        }
    }

    [Fact]
    public async Task A_folder_run_writes_parquet_csv_and_manifest_the_same_sharded_or_not_and_the_same_again()
    {
        var export = await ScoringTestData.ExportAsync();
        var checkpoint = await ScoringTestData.CheckpointAsync(PredictionTask.Churn);
        var created = new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero);
        FolderScoring.Request Request(int shards, string folder) => new(EventSources.Open(export), export,
            PredictionTask.Churn, PrepareOptions.Default, shards, checkpoint, new ScoringModel("churn", 4, "churn.ckpt"),
            3, "run1", created, folder);

        var whole = await FolderScoring.RunAsync(_scorer, Request(1, Path.Combine(_out, "whole")));
        var sharded = await FolderScoring.RunAsync(_scorer, Request(3, Path.Combine(_out, "sharded")));

        Assert.Equal(whole.Rows, sharded.Rows);
        Assert.Equal(whole.Counts, sharded.Counts);
        Assert.Equal([0, 1, 2], sharded.Parts.Select(p => p.Shard));
        Assert.Equal(whole.Rows, sharded.Parts.Sum(p => p.Rows));
        var wholeRows = await ReadParquetAsync(Path.Combine(_out, "whole"), whole);
        var shardedRows = await ReadParquetAsync(Path.Combine(_out, "sharded"), sharded);
        // The same users and labels; probabilities equal up to float rounding (batches of other sizes sum in
        // another order). A re-run with the same shards is byte-identical (below).
        var byUser = shardedRows.ToDictionary(r => r.UserPseudoId);
        Assert.Equal(wholeRows.Select(r => r.UserPseudoId).Order(StringComparer.Ordinal), byUser.Keys.Order(StringComparer.Ordinal));
        foreach (var row in wholeRows)
        {
            Assert.Equal(row.Churned, byUser[row.UserPseudoId].Churned);
            Assert.InRange(Math.Abs(row.ChurnProbability!.Value - byUser[row.UserPseudoId].ChurnProbability!.Value), 0, 1e-5);
        }
        Assert.All(wholeRows, r => Assert.Equal(("churn", 4, created.UtcDateTime), (r.ModelName, r.ModelVersion, r.ScoredAt)));

        var csv = await File.ReadAllLinesAsync(Path.Combine(_out, "whole", whole.Parts[0].Csv));
        Assert.Equal(string.Join(',', ScorePartFiles.Columns), csv[0]);
        Assert.Equal(whole.Rows + 1, csv.Length);
        var first = wholeRows.OrderBy(r => r.UserPseudoId, StringComparer.Ordinal).First();
        Assert.StartsWith($"{first.UserPseudoId},churn,4,churn,{first.ChurnProbability!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)},", csv[1]);

        // Again into the same folder with fewer shards: the same run, byte for byte, and no stale parts.
        var again = await FolderScoring.RunAsync(_scorer, Request(1, Path.Combine(_out, "sharded")));
        Assert.Equal(whole.Parts, again.Parts);
        Assert.Equal(["manifest.json", "part-00000.csv", "part-00000.parquet"],
            Directory.GetFiles(Path.Combine(_out, "sharded")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var name in new[] { "manifest.json", "part-00000.csv", "part-00000.parquet" })
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_out, "whole", name)),
                await File.ReadAllBytesAsync(Path.Combine(_out, "sharded", name)));
    }

    private static async Task<List<ScoreRow>> ReadParquetAsync(string folder, ScoringManifest manifest)
    {
        var rows = new List<ScoreRow>();
        foreach (var part in manifest.Parts)
        {
            await using var file = File.OpenRead(Path.Combine(folder, part.Parquet));
            var read = (await ParquetSerializer.DeserializeAsync<ScoreRow>(file)).Data;
            Assert.Equal(part.Rows, read.Count);
            rows.AddRange(read);
        }
        return rows;
    }
}
