using System.CommandLine;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Training;
using Spectre.Console;

namespace CustomerAnalysis.Cli.Commands;

/// <summary>
/// <c>ca train</c>: grid search on a prepared dataset (or a raw export, prepared on the fly), the best model scored on
/// test next to the baselines, artifacts (checkpoint, metrics.json, plots, attention) written to a folder.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "A prepared dataset folder (from ca prepare) or a raw GA4 export (as --input of prepare).",
            Required = true,
        };
        var task = SharedOptions.Task();
        var config = new Option<FileInfo>("--config") { Description = "Model config (config/nn/rnn.json, config/nn/transformer.json).", Required = true }
            .ExistingFile();
        var dataConfig = new Option<FileInfo?>("--data-config") { Description = "Data settings when --data is a raw export (like ca prepare --config)." }
            .ExistingFile();
        var output = SharedOptions.OutputFolder("Folder for the checkpoint, metrics.json and plots.");
        var protocol = SharedOptions.Protocol();
        var threads = SharedOptions.Number("--threads", "Cores to share among parallel trials (0 = all).", 0, 0, 4096);
        var json = SharedOptions.Json();

        var command = new Command("train", "Grid-search a model config, evaluate the best model against baselines, write artifacts.")
        {
            data, task, config, dataConfig, output, protocol, threads, json,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var chosenTask = parsed.GetValue(task);
            var chosenProtocol = parsed.GetValue(protocol)!;
            var nnConfig = ModelConfig(parsed.GetValue(config)!, chosenTask, chosenProtocol);
            var dataset = await DatasetInputs.LoadAsync(parsed.GetValue(data)!, chosenTask, parsed.GetValue(dataConfig), chosenProtocol, cancellationToken);
            RequireMatching(dataset, chosenTask, chosenProtocol);

            using var result = await RunWithProgressAsync(dataset, nnConfig, parsed.GetValue(threads), cancellationToken);
            var outputFolder = parsed.GetValue(output)!.FullName;
            var written = ExperimentArtifacts.WriteAll(new FolderArtifactSink(outputFolder), result.Report, result.Checkpoint, dataset);

            if (parsed.GetValue(json))
            {
                Console.WriteLine(result.Report.ToJsonString(indented: false));
            }
            else
            {
                var best = result.Report.Best;
                Console.WriteLine($"Best: {best.DisplayName}, epoch {best.BestEpoch}, {ValidationText(best, result.Report.GridSearchMetric, nnConfig.Pipeline.ValidationSelection)}");
                Console.WriteLine($"Test ({dataset.Test.Count:N0} sequences), model and baselines:");
                Console.Write(result.Report.Test.ToText());
                var stopped = result.Report.Trials.Where(t => t.StoppedAtRung is not null).ToArray();
                if (stopped.Length > 0)
                    Console.WriteLine($"{stopped.Length} of {result.Report.Trials.Count} trial(s) stopped by asha at a rung (weak, not failed): " +
                        string.Join(", ", stopped.Select(t => $"trial {t.Index} at epoch {t.StoppedAtRung}")));
                if (result.Report.FailedTrials.Count > 0)
                {
                    Console.WriteLine($"{result.Report.FailedTrials.Count} of {result.Report.FailedTrials.Count + result.Report.Trials.Count} trial(s) failed (the best is of the others):");
                    foreach (var failed in result.Report.FailedTrials) Console.WriteLine($"  {failed.DisplayName}: {failed.Error}");
                }
                Console.WriteLine($"{written.Count} artifacts written to {outputFolder}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The config file with the command line's task; <c>--protocol original</c> also means event names only.</summary>
    public static NnConfig ModelConfig(FileInfo file, PredictionTask task, string protocol)
    {
        var overrides = new Dictionary<string, JsonNode> { ["task"] = PredictionTasks.Name(task) };
        if (protocol == "original") overrides["use_time_gaps"] = false;
        return NnConfig.Load(file.FullName).WithOverrides(overrides);
    }

    /// <summary>A prepared folder made for another task or protocol would silently train the wrong thing.</summary>
    private static void RequireMatching(PreparedDataset dataset, PredictionTask task, string protocol)
    {
        if (dataset.Task != task)
            throw new InvalidInputException($"The prepared dataset is for the {dataset.Summary.Task} task, not {PredictionTasks.Name(task)}.");
        if (dataset.Summary.Protocol != protocol)
            throw new InvalidInputException(
                $"The prepared dataset was made with --protocol {dataset.Summary.Protocol}, not {protocol}: prepare it again or pass the raw export.");
    }

    /// <summary>"validation top1_accuracy = 0.7512 (held-out users), 0.7301 (last days); chosen on mean 0.7407".</summary>
    internal static string ValidationText(TrialSummary trial, string metric, ValidationSelection selection)
    {
        var users = trial.Validation.GetValueOrDefault(metric, double.NaN);
        if (!trial.RecentValidation.TryGetValue(metric, out var recent))
            return $"validation {metric} = {users:0.0000} (held-out users; no last-days split)";
        return $"validation {metric} = {users:0.0000} (held-out users), {recent:0.0000} (last days); " +
               $"chosen on {ValidationSelections.Name(selection)} {trial.SelectionScore:0.0000}";
    }

    private static async Task<ExperimentResult> RunWithProgressAsync(PreparedDataset dataset, NnConfig config, int threads, CancellationToken cancellationToken)
    {
        var trialCount = ModelGrid.Expand(config).Count;
        var epochs = config.Training.NumEpochs;
        var metricName = config.Pipeline.GridSearchMetric;
        string EpochText(TrialSpec trial, EpochRecord epoch) =>
            $"trial {trial.Index + 1}/{trialCount} epoch {epoch.Epoch}/{epochs}: train loss {epoch.TrainLoss:0.0000}, val {metricName} {epoch.ValidationMetric:0.0000}";

        if (Console.IsErrorRedirected)
        {
            // Logs and CI: one line per finished trial.
            Console.Error.WriteLine($"Training {trialCount} trial(s) on {dataset.Train.Count:N0} sequences");
            var done = 0;
            return await Task.Run(() => Experiment.Run(dataset, config, new GridSearchRun(
                Cores: threads,
                OnTrialCompleted: trial => Console.Error.WriteLine(
                    $"  [{Interlocked.Increment(ref done)}/{trialCount}] trial {trial.Trial.Index}: " +
                    $"selection score ({metricName}) {trial.Training.BestValidationMetric:0.0000} ({trial.Seconds:0.0} s)"),
                Cancellation: cancellationToken,
                OnTrialFailed: failed => Console.Error.WriteLine(
                    $"  [{Interlocked.Increment(ref done)}/{trialCount}] trial {failed.Trial.Index} failed: {failed.Error}"))), cancellationToken);
        }

        ExperimentResult? result = null;
        await CommandLine.Status.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var trials = context.AddTask($"Trials (0/{trialCount})", maxValue: trialCount);
                var latest = context.AddTask("waiting for the first epoch", maxValue: 1);
                var done = 0;
                result = await Task.Run(() => Experiment.Run(dataset, config, new GridSearchRun(
                    Cores: threads,
                    OnEpoch: (trial, epoch) => latest.Description = Markup.Escape(EpochText(trial, epoch)),
                    OnTrialCompleted: _ =>
                    {
                        var finished = Interlocked.Increment(ref done);
                        trials.Description = $"Trials ({finished}/{trialCount})";
                        trials.Increment(1);
                    },
                    Cancellation: cancellationToken,
                    OnTrialFailed: failed =>
                    {
                        var finished = Interlocked.Increment(ref done);
                        trials.Description = $"Trials ({finished}/{trialCount}, trial {failed.Trial.Index} failed)";
                        trials.Increment(1);
                    })), cancellationToken);
                latest.Value = 1;
            });
        return result!;
    }
}
