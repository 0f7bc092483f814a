// Next event with an RNN (GRU/LSTM with attention): read a GA4 export, prepare, train with a config, evaluate against the baselines, plot attention, predict.
// Run from the repository root:  dotnet run examples/next-event-rnn.cs [-- <GA4 export: Parquet/JSON file, folder or glob>]
// Without an export it first writes a small GA4-shaped one (seeded, the way `ca synth` does), so it runs anywhere.
#:project ../src/CustomerAnalysis.Ingestion/CustomerAnalysis.Ingestion.csproj
#:project ../src/CustomerAnalysis.Modeling/CustomerAnalysis.Modeling.csproj
// File-based programs default to native AOT, which the libraries' reflection-based JSON and TorchSharp do not support.
#:property PublishAot=false

using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Ingestion.Synthetic;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Training;

var output = Path.Combine(Path.GetTempPath(), "ca-examples", "next-event-rnn");
Directory.CreateDirectory(output);

// 1. An export: the one given, or a small generated one (60_000 events over 9 days).
var export = args.Length > 0 ? args[0] : Path.Combine(output, "export");
if (args.Length == 0)
    await SyntheticExport.WriteAsync(new SyntheticExportOptions { OutputFolder = export, Events = 60_000, Days = 9, Seed = 42 });

// 2. Read it and prepare the next-event dataset: label, build sequences, split by user (the default protocol).
var events = await EventSources.Open(export, EventSourceOptions.FromEnvironment()).ReadTableAsync();
var dataset = DatasetPreparer.Prepare(events, PredictionTask.Events, PrepareOptions.Default, "default");
Console.WriteLine($"{events.Count:N0} events -> {dataset.Summary.Sequences:N0} sequences " +
                  $"(train {dataset.Train.Count:N0}, validation {dataset.Validation.Count:N0}, test {dataset.Test.Count:N0})");

// 3. The model config: the repository's rnn.json, with a smaller grid so the example stays quick.
var config = NnConfig.Load(Path.Combine(RepositoryRoot(), "config", "nn", "rnn.json")).WithOverrides(new Dictionary<string, JsonNode>
{
    ["task"] = "events",
    ["num_epochs"] = 4,
    ["nonlinearity"] = "tanh",
    ["reg_lambda"] = 0.0001,
    ["num_threads"] = 1, // one torch thread per trial: no spinning OpenMP threads on a busy machine
    ["learning_rate"] = 0.01,
});
Console.WriteLine($"{ModelGrid.Expand(config).Count} trial(s) of {config.Kind}, up to {config.Training.NumEpochs} epochs each");

// 4. Train: grid search, early stopping, the best trial on validation.
using var result = Experiment.Run(dataset, config, new GridSearchRun(
    OnTrialCompleted: trial => Console.WriteLine(
        $"  trial {trial.Trial.Index}: validation {config.Pipeline.GridSearchMetric} {trial.Training.BestValidationMetric:0.0000}")));

// 5. Evaluate on the test split beside the baselines fitted on the same training split.
Console.WriteLine($"Test, the model and the baselines:");
Console.Write(result.Report.Test.ToText());

// 6. Artifacts: checkpoint, metrics, plots (training curves, the confusion matrix, true vs predicted, the attention heatmap) and the attention export.
var written = ExperimentArtifacts.WriteAll(new FolderArtifactSink(output), result.Report, result.Checkpoint, dataset);
Console.WriteLine($"{written.Count} artifacts in {output}, the attention heatmap: {Path.Combine(output, ExperimentArtifacts.AttentionHeatmapName)}");

// 7. Predict with the saved checkpoint, as a service would: events in, the most likely next events and attention per event out.
await using (var file = File.OpenRead(Path.Combine(output, ExperimentArtifacts.CheckpointName)))
{
    using var predictor = Predictor.Load(file);
    string[] names = ["session_start", "page_view", "view_item", "add_to_cart"];
    double[] gaps = [0, 2, 40, 15]; // seconds since the previous event (read only by models with use_time_gaps)
    var prediction = predictor.Predict([new SessionInput(names, predictor.Checkpoint.Config.Init.UseTimeGaps ? gaps : null)], top: 3)[0];
    Console.WriteLine("Next event: " + string.Join(", ", prediction.TopEvents.Select(p => $"{p.Event} {p.Probability:P1}")));
    Console.WriteLine("Attention: " + string.Join(", ", names.Select((n, i) => $"{n} {prediction.Attention[i]:0.000}")));
}

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "CustomerAnalysis.sln"))) return dir.FullName;
    throw new InvalidOperationException("Run the examples from inside the repository (config/nn/ holds the model configs).");
}
