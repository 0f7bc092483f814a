using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;

namespace CustomerAnalysis.Pipeline.Tests.Scoring;

/// <summary>A small synthetic export and real TorchSharp checkpoints (untrained, seeded, with time gaps; the churn one
/// with a Platt calibration that is not the identity) over its training vocabulary, written once per test run.</summary>
internal static class ScoringTestData
{
    private static readonly Lazy<Task<string>> Folder = new(CreateAsync);

    public static Task<string> ExportAsync() => Folder.Value;

    public static async Task<string> CheckpointAsync(PredictionTask task) =>
        Path.Combine(await ExportAsync(), "..", $"{PredictionTasks.Name(task)}.ckpt");

    // Beta, not Platt: batch scoring goes through the method the checkpoint names.
    public static readonly ProbabilityCalibration Calibration = new BetaCalibration(2.5, 0.6, 1.0);

    private static async Task<string> CreateAsync()
    {
        var root = CustomerAnalysis.Testing.TestFolders.Create("ca-scoring-");
        var export = Path.Combine(root, "export");
        await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = export, Events = 30_000, Seed = 11 });
        var events = await EventSources.Open(export).ReadTableAsync();
        foreach (var task in new[] { PredictionTask.Events, PredictionTask.Churn })
        {
            var dataset = DatasetPreparer.Prepare(events, task, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
            var config = NnConfig.Parse($$"""
                {
                  "model_type": "rnn",
                  "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 16, "attention_type": "global",
                                         "use_time_gaps": true, "max_sequence_length": 40 },
                  "model_training_params": { "task": "{{PredictionTasks.Name(task)}}", "device": "cpu" },
                  "pipeline_params": { "prob_threshold": 0.5, "return_churn_prob": true }
                }
                """);
            var model = ModelFactory.Create(config, task, dataset.Vocabulary.Count, seed: 3, torch.CPU);
            var checkpoint = new ModelCheckpoint(config, dataset.Vocabulary, model,
                churnCalibration: task == PredictionTask.Churn ? Calibration : null);
            await using var file = File.Create(Path.Combine(root, $"{PredictionTasks.Name(task)}.ckpt"));
            checkpoint.Write(file);
            model.Dispose();
        }
        return export;
    }
}
