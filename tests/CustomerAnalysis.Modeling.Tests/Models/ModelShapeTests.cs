using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Data;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Tests.Models;

public class ModelShapeTests
{
    private static readonly int[][] Sequences = [[2, 3, 4, 5, 6], [7], [8, 9, 2]];
    private static readonly float[][] Gaps = [[0, 5, 10, 20, 40], [0], [0, 1, 2]];
    private static int Vocab => SyntheticSequences.Vocabulary.Count;

    private static SequenceModel Build(string modelType, PredictionTask task, string init) =>
        ModelFactory.Create(SyntheticSequences.Config(modelType, task, init), task, Vocab, seed: 3, torch.CPU);

    private static SequenceBatch Batch() =>
        SequenceBatch.Create(Sequences.Select(s => (IReadOnlyList<int>)s).ToArray(), Gaps.Select(g => (IReadOnlyList<float>)g).ToArray(), 50, torch.CPU);

    public static TheoryData<string, string, int> Models => new()
    {
        { "rnn", "\"attention_type\": \"global\"", 1 },
        { "rnn", "\"attention_type\": \"self\", \"cell_type\": \"lstm\"", 1 },
        { "rnn", "\"attention_type\": \"multi-head\", \"num_heads\": 3, \"cell_type\": \"rnn\", \"nonlinearity\": \"relu\"", 3 },
        { "rnn", "\"attention_type\": \"last\", \"num_layers\": 2, \"use_time_gaps\": true", 1 },
        { "rnn", "\"attention_type\": \"global\", \"use_time_gaps\": true, \"use_elapsed_time\": true", 1 },
        { "transformer", "\"num_heads\": 2, \"num_layers\": 2, \"pooling\": \"last\"", 2 },
        { "transformer", "\"num_heads\": 4, \"pooling\": \"mean\", \"use_time_gaps\": true", 4 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Attention_is_per_head_sums_to_one_over_real_events_and_is_exactly_zero_on_padding(string modelType, string init, int heads)
    {
        using var model = Build(modelType, PredictionTask.Events, init);
        model.eval();
        using var scope = torch.NewDisposeScope();
        var output = model.Forward(Batch());

        Assert.Equal(new long[] { 3, Vocab }, output.Logits.shape);
        Assert.Equal(new long[] { heads, 3, 5 }, output.Attention.shape);
        var weights = output.Attention.data<float>().ToArray();
        for (var h = 0; h < heads; h++)
            for (var b = 0; b < 3; b++)
            {
                var row = weights.AsSpan((h * 3 + b) * 5, 5);
                for (var t = Sequences[b].Length; t < 5; t++) Assert.Equal(0f, row[t]);
                Assert.Equal(1.0, row.ToArray().Sum(), 4);
            }
        // <PAD> is never predicted.
        Assert.All(output.Logits.select(1, Vocabulary.Pad).data<float>().ToArray(), v => Assert.True(float.IsNegativeInfinity(v)));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_sequence_scores_the_same_alone_and_padded_in_a_batch(string modelType, string init, int heads)
    {
        _ = heads;
        using var model = Build(modelType, PredictionTask.Events, init);
        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var batched = model.Forward(Batch()).Logits.softmax(-1);
        var alone = model.Forward(SequenceBatch.Create([Sequences[1]], [Gaps[1]], 50, torch.CPU)).Logits.softmax(-1);
        Assert.True(batched[1].allclose(alone[0], rtol: 1e-4, atol: 1e-6), "padding changed the output of the short sequence");
    }

    [Fact]
    public void Transformer_returns_per_layer_per_head_weights_with_zero_on_padded_keys()
    {
        using var model = Build("transformer", PredictionTask.Churn, "\"num_heads\": 2, \"num_layers\": 3");
        model.eval();
        using var scope = torch.NewDisposeScope();
        var output = model.Forward(Batch());
        Assert.Equal(new long[] { 3 }, output.Logits.shape);
        Assert.NotNull(output.LayerAttention);
        Assert.Equal(new long[] { 3, 3, 2, 5, 5 }, output.LayerAttention!.shape);
        // Sequence 1 has one real event: every query attends only to key 0.
        var keysOfShortSequence = output.LayerAttention[.., 1, .., .., 1..].abs().sum().item<float>();
        Assert.Equal(0f, keysOfShortSequence);
    }

    [Fact]
    public void Churn_models_output_one_logit_per_sequence()
    {
        using var model = Build("rnn", PredictionTask.Churn, "\"attention_type\": \"self\"");
        using var scope = torch.NewDisposeScope();
        var output = model.Forward(Batch());
        Assert.Equal(new long[] { 3 }, output.Logits.shape);
    }

    [Fact]
    public void The_elapsed_and_remaining_times_are_summed_from_the_second_events_gap_and_padding_repeats_the_last()
    {
        using var scope = torch.NewDisposeScope();
        // The first gap (to an event no longer in the input) is not part of the elapsed time.
        var batch = SequenceBatch.Create([new[] { 2, 3 }, new[] { 5, 6, 7 }], [new float[] { 7, 10 }, new float[] { 0, 20, 40 }], 50, torch.CPU);

        var times = RnnModel.LogElapsed(batch.LogGaps, batch.Lengths);

        Assert.Equal(new long[] { 2, 3, 2 }, times.shape);
        float L(float seconds) => MathF.Log(1 + seconds);
        // [sequence, step, (since first, until last)]; sequence 0's third step is padding.
        float[] expected = [0, L(10), L(10), 0, L(10), 0, 0, L(60), L(20), L(40), L(60), 0];
        var actual = times.data<float>().ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 4);
    }

    [Fact]
    public void The_elapsed_time_changes_what_an_rnn_sees()
    {
        // Same seed and settings but the elapsed time: the first layer is two inputs wider and the outputs differ.
        using var with = Build("rnn", PredictionTask.Churn, "\"use_time_gaps\": true, \"use_elapsed_time\": true");
        using var without = Build("rnn", PredictionTask.Churn, "\"use_time_gaps\": true");
        with.eval();
        without.eval();
        using var scope = torch.NewDisposeScope();
        var withLogits = with.Forward(Batch()).Logits.data<float>().ToArray();
        var withoutLogits = without.Forward(Batch()).Logits.data<float>().ToArray();
        Assert.NotEqual(withoutLogits, withLogits);
        // Embedding 32 + the gap, + the elapsed and remaining times.
        long FirstLayerInputs(SequenceModel model) => model.named_parameters().First(p => p.name.Contains("weight_ih")).parameter.shape[1];
        Assert.Equal(35, FirstLayerInputs(with));
        Assert.Equal(33, FirstLayerInputs(without));
    }

    [Fact]
    public void Long_inputs_keep_their_last_events()
    {
        using var scope = torch.NewDisposeScope();
        var batch = SequenceBatch.Create([new[] { 2, 3, 4, 5, 6, 7 }], null, maxLength: 4, torch.CPU);
        Assert.Equal(new long[] { 4, 5, 6, 7 }, batch.Tokens[0].data<long>().ToArray());
        Assert.Equal(2, batch.KeptFrom[0]);
    }
}
