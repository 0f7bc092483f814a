using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Attention;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Data;
using TorchSharp;

namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>Runs a model over a split batch by batch and records its attention as the original project's export.</summary>
public static class AttentionCollector
{
    /// <param name="phase"><c>train</c>, <c>val</c> or <c>test</c>.</param>
    /// <param name="maxBatches">Stop after this many batches (the export of a big split is large); null = all.</param>
    public static AttentionExport Collect(ModelCheckpoint checkpoint, IReadOnlyList<SequenceExample> examples, string phase, int? maxBatches = null)
    {
        var config = checkpoint.Config;
        var model = checkpoint.Model;
        var vocabulary = checkpoint.Vocabulary;
        var builder = new AttentionExportBuilder(phase, AttentionTypeName(config), vocabulary.Tokens);
        var maxLength = config.Init.MaxSequenceLength;
        var device = model.parameters().First().device;
        model.eval();
        using var noGrad = torch.no_grad();
        var batchIndex = 0;
        // Split order (not sorted by length), so the export's batches follow the dataset file.
        foreach (var indices in Enumerable.Range(0, examples.Count).Chunk(config.Training.BatchSize))
        {
            if (batchIndex == maxBatches) break;
            using var scope = torch.NewDisposeScope();
            var batch = model.BatchOf(examples, indices, maxLength, device);
            var output = model.Forward(batch);
            var tokens = batch.Tokens.cpu().data<long>().ToArray();
            var weights = output.Attention.mean([0]).cpu().data<float>().ToArray(); // heads averaged: [batch, steps]
            string[] predictions;
            if (model.Task == PredictionTask.Events)
            {
                var ids = output.Logits.argmax(-1).cpu().data<long>().ToArray();
                predictions = ids.Select(id => vocabulary.Decode((int)id)).ToArray();
            }
            else
            {
                var probabilities = output.Logits.sigmoid().cpu().data<float>().ToArray();
                predictions = probabilities.Select(p => p >= config.Pipeline.ProbThreshold ? "churned" : "returned").ToArray();
            }
            builder.AddBatch(batchIndex++, tokens, weights, predictions);
        }
        return builder.Build();
    }

    /// <summary>The RNN's attention kind (<c>global</c>, <c>self</c>, …) or <c>transformer-last</c> / <c>transformer-mean</c>.</summary>
    public static string AttentionTypeName(NnConfig config) => config.Init switch
    {
        RnnInitParams rnn => rnn.AttentionType,
        TransformerInitParams transformer => $"transformer-{transformer.Pooling}",
        _ => "unknown",
    };
}
