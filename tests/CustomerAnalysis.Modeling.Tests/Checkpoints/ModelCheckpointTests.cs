using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Data;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;

namespace CustomerAnalysis.Modeling.Tests.Checkpoints;

public class ModelCheckpointTests
{
    [Theory]
    [InlineData("rnn", "events", "\"attention_type\": \"multi-head\", \"num_heads\": 2, \"use_time_gaps\": true")]
    [InlineData("transformer", "churn", "\"num_layers\": 2, \"pooling\": \"mean\"")]
    public void A_loaded_model_gives_identical_outputs(string modelType, string taskName, string init)
    {
        var task = taskName == "churn" ? PredictionTask.Churn : PredictionTask.Events;
        var config = SyntheticSequences.Config(modelType, task, init);
        var vocabulary = SyntheticSequences.Vocabulary;
        using var model = ModelFactory.Create(config, task, vocabulary.Count, seed: 11, torch.CPU);
        var checkpoint = new ModelCheckpoint(config, vocabulary, model, new Dictionary<string, double> { ["val_accuracy"] = 0.75 });

        using var stream = new MemoryStream();
        checkpoint.Write(stream);
        Assert.True(stream.CanWrite, "Write must leave the stream open");
        stream.Position = 0;
        var loaded = ModelCheckpoint.Read(stream);
        using var loadedModel = loaded.Model;

        Assert.Equal(config.Init, loaded.Config.Init);
        Assert.Equal(vocabulary.Tokens, loaded.Vocabulary.Tokens);
        Assert.Equal(0.75, loaded.Metrics["val_accuracy"]);
        Assert.Equal(task, loaded.Task);

        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var batch = SequenceBatch.Create([new[] { 2, 5, 9, 3 }, new[] { 4 }], [new[] { 0f, 3, 60, 1 }, new[] { 0f }], 50, torch.CPU);
        var before = model.Forward(batch);
        var after = loadedModel.Forward(batch);
        Assert.Equal(before.Logits.data<float>().ToArray(), after.Logits.data<float>().ToArray());
        Assert.Equal(before.Attention.data<float>().ToArray(), after.Attention.data<float>().ToArray());
    }

    [Fact]
    public void Damaged_streams_are_input_errors()
    {
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events);
        using var model = ModelFactory.Create(config, PredictionTask.Events, SyntheticSequences.Vocabulary.Count, 1, torch.CPU);
        using var stream = new MemoryStream();
        new ModelCheckpoint(config, SyntheticSequences.Vocabulary, model).Write(stream);
        var bytes = stream.ToArray();

        Assert.Throws<InvalidInputException>(() => ModelCheckpoint.Read(new MemoryStream(bytes[..(bytes.Length - 10)])));
        Assert.Throws<InvalidInputException>(() => ModelCheckpoint.Read(new MemoryStream("NOTAMODELATALL"u8.ToArray())));
    }
}
