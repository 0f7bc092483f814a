using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Models;
using CustomerAnalysis.Learning;
using TorchSharp;

namespace CustomerAnalysis.Pipeline.Tests;

public sealed class CheckpointEvaluatorTests
{
    [Fact]
    public async Task A_champion_in_another_vocabulary_scores_the_same_without_the_baselines()
    {
        var dataset = await new SyntheticPreparer().PrepareAsync("synthetic:300", PredictionTask.Events, PrepareOptions.Default, CancellationToken.None);
        // Another run's vocabulary: other order, one event unknown to it.
        var vocabulary = new Vocabulary([Vocabulary.PadToken, Vocabulary.UnkToken, "purchase", "begin_checkout", "add_to_cart", "view_item"]);
        var config = NnConfig.Parse("""
            {"model_type": "rnn", "model_init_params": {"embedding_size": 4, "hidden_size": 4},
             "model_training_params": {"task": "events", "device": "cpu"}}
            """);
        var path = Path.Combine(Path.GetTempPath(), $"ca-champion-{Guid.NewGuid():N}.bin");
        try
        {
            using (var model = ModelFactory.Create(config, PredictionTask.Events, vocabulary.Count, seed: 3, torch.CPU))
            using (var file = File.Create(path))
                new ModelCheckpoint(config, vocabulary, model).Write(file);
            var evaluator = new CheckpointEvaluator();

            var full = await evaluator.EvaluateAsync(dataset, path, artifactsDirectory: null, CancellationToken.None);
            var modelOnly = await evaluator.ScoreModelAsync(dataset, path, CancellationToken.None);

            Assert.NotEmpty(full.Baselines);
            Assert.Contains("accuracy", modelOnly.Keys);
            Assert.Equal(full.TestMetrics.OrderBy(m => m.Key), modelOnly.OrderBy(m => m.Key));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
