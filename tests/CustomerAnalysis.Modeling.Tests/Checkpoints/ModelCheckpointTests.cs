using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation;
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

    [Theory]
    [InlineData("vocabulary", null)]                 // missing field: was a NullReferenceException
    [InlineData("vocabulary", "\"page_view\"")]      // wrong type: was an InvalidOperationException
    [InlineData("metrics", "{\"val_accuracy\": \"high\"}")]
    [InlineData("config", null)]
    public void Damaged_header_fields_are_input_errors_naming_the_field(string field, string? replacement)
    {
        var (header, weights) = WrittenCheckpoint();
        if (replacement is null) header.Remove(field);
        else header[field] = System.Text.Json.Nodes.JsonNode.Parse(replacement);

        var error = Assert.Throws<InvalidInputException>(() => ModelCheckpoint.Read(Assemble(header, weights, weights.Length)));
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void A_weights_length_beyond_the_stream_is_an_input_error_before_allocating_it()
    {
        var (header, weights) = WrittenCheckpoint();

        var error = Assert.Throws<InvalidInputException>(() => ModelCheckpoint.Read(Assemble(header, weights, int.MaxValue - 1L)));
        Assert.Contains("truncated", error.Message);
    }

    /// <summary>A valid checkpoint split into its JSON header and its weight bytes.</summary>
    private static (System.Text.Json.Nodes.JsonObject Header, byte[] Weights) WrittenCheckpoint()
    {
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events);
        using var model = ModelFactory.Create(config, PredictionTask.Events, SyntheticSequences.Vocabulary.Count, 1, torch.CPU);
        using var stream = new MemoryStream();
        new ModelCheckpoint(config, SyntheticSequences.Vocabulary, model).Write(stream);
        var bytes = stream.ToArray();
        var headerLength = BitConverter.ToInt32(bytes, 8);
        var header = System.Text.Json.Nodes.JsonNode.Parse(bytes.AsSpan(12, headerLength))!.AsObject();
        return (header, bytes[(12 + headerLength + 8)..]);
    }

    private static MemoryStream Assemble(System.Text.Json.Nodes.JsonObject header, byte[] weights, long declaredWeightLength)
    {
        var stream = new MemoryStream();
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        stream.Write("CAMODEL1"u8);
        stream.Write(BitConverter.GetBytes(headerBytes.Length));
        stream.Write(headerBytes);
        stream.Write(BitConverter.GetBytes(declaredWeightLength));
        stream.Write(weights);
        stream.Position = 0;
        return stream;
    }

    [Fact]
    public void A_checkpoint_written_before_calibration_existed_reads_as_uncalibrated()
    {
        var config = SyntheticSequences.Config("rnn", PredictionTask.Churn);
        using var model = ModelFactory.Create(config, PredictionTask.Churn, SyntheticSequences.Vocabulary.Count, 1, torch.CPU);
        using var stream = new MemoryStream();
        new ModelCheckpoint(config, SyntheticSequences.Vocabulary, model, churnCalibration: new PlattScaling(0.5, -0.25)).Write(stream);
        var bytes = stream.ToArray();
        var headerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8, 4));
        var header = System.Text.Json.Nodes.JsonNode.Parse(bytes.AsSpan(12, headerLength))!.AsObject();

        var current = ModelCheckpoint.Read(new MemoryStream(bytes));
        using (current.Model)
            Assert.Equal<ProbabilityCalibration>(new PlattScaling(0.5, -0.25), current.ChurnCalibration);

        // The same checkpoint as format 1 wrote it before: no churn_calibration field.
        Assert.True(header.Remove("churn_calibration"));
        var oldHeader = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        var old = new MemoryStream();
        old.Write(bytes.AsSpan(0, 8));
        old.Write(BitConverter.GetBytes(oldHeader.Length));
        old.Write(oldHeader);
        old.Write(bytes.AsSpan(12 + headerLength));
        old.Position = 0;
        var read = ModelCheckpoint.Read(old);
        using var readModel = read.Model;
        Assert.True(read.ChurnCalibration.IsIdentity);
    }

    public static TheoryData<string> Calibrations => new() { "platt", "temperature", "beta", "isotonic" };

    [Theory]
    [MemberData(nameof(Calibrations))]
    public void Each_calibration_method_round_trips_through_the_checkpoint_by_its_method_field(string method)
    {
        ProbabilityCalibration calibration = method switch
        {
            "platt" => new PlattScaling(0.5, -0.25),
            "temperature" => new TemperatureScaling(1.4),
            "beta" => new BetaCalibration(2.7, 0.6, 1.1),
            _ => new IsotonicCalibration([-2, 0.5, 3], [-1, 0.9, 2.5]),
        };
        var config = SyntheticSequences.Config("rnn", PredictionTask.Churn);
        using var model = ModelFactory.Create(config, PredictionTask.Churn, SyntheticSequences.Vocabulary.Count, 1, torch.CPU);
        using var stream = new MemoryStream();
        new ModelCheckpoint(config, SyntheticSequences.Vocabulary, model, churnCalibration: calibration).Write(stream);
        var bytes = stream.ToArray();
        var headerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8, 4));
        var header = System.Text.Json.Nodes.JsonNode.Parse(bytes.AsSpan(12, headerLength))!.AsObject();
        Assert.Equal(method, header["churn_calibration"]!["method"]!.GetValue<string>());
        if (method == "platt") // exactly what checkpoints held before the other methods: those read as they did
            Assert.Equal("""{"method":"platt","slope":0.5,"intercept":-0.25}""", header["churn_calibration"]!.ToJsonString());

        var read = ModelCheckpoint.Read(new MemoryStream(bytes));
        using var readModel = read.Model;
        Assert.Equal(calibration, read.ChurnCalibration);
        foreach (var p in new[] { 0.01, 0.2, 0.5, 0.93 })
            Assert.Equal(calibration.Apply(p), read.ChurnCalibration.Apply(p));
    }
}
