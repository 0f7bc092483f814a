using System.Diagnostics;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation.Baselines;
using CustomerAnalysis.Modeling.Baselines;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Bench;

/// <summary>
/// The issue's "done when" measurements: real-data results (model vs baselines), the 36-trial RNN grid's wall time,
/// Transformer throughput and peak memory, and batch-1 prediction latency.
/// </summary>
internal static class ModelingBench
{
    private static readonly string[] AllRuns = ["original-events", "original-churn", "default-churn", "default-events"];

    /// <summary><c>bench real</c>: each run = protocol-task; prepares from one read of the export, trains the config's grid.</summary>
    /// <param name="signals">GA4 signals for the default protocol's runs (<c>--signals recommended</c>): prepared with
    /// them and the model trained with <c>use_signals</c>, the trees given the same; none = names and gaps only.</param>
    /// <param name="probabilitiesPath">Churn runs: the uncalibrated probabilities the checkpoint's calibration maps (the
    /// blend's when it blends) on validation, val_recent and test with their labels, as CSV
    /// (<c>run,split,label,probability</c>), for <c>bench calibration</c> to compare methods on without training again.</param>
    /// <param name="combine">pipeline_params.combine_with_trees for every run (none | blend); null = the config's.
    /// A blended model's table has its sequence model alone beside it (<c>sequence_model</c>).</param>
    /// <param name="holdoutDays">The prepare option <c>holdout_days</c> for the default protocol's runs (null: its
    /// default); the original protocol has none.</param>
    /// <param name="signalDropout">The prepare option <c>signal_dropout</c> (null: none). With signals, each run also
    /// scores the served model on the test split with every signal missing (what a request without signals gets).</param>
    public static int Real(string data, string configPath, int threads, string? runsText, string? outFolder, SignalSet? signals = null,
        string? probabilitiesPath = null, string? combine = null, double? holdoutDays = null, double? signalDropout = null)
    {
        using var probabilities = probabilitiesPath is null ? null : new StreamWriter(probabilitiesPath);
        probabilities?.WriteLine("run,split,label,probability");
        foreach (var (run, protocol, task, dataset) in PreparedRuns(data, runsText, signals ?? SignalSet.None, holdoutDays, signalDropout))
        {
            var config = Config(configPath, task, protocol, useSignals: dataset.Signals is not null);
            if (combine is not null)
            {
                var json = JsonNode.Parse(config.ToJson())!.AsObject();
                ((json[NnConfig.PipelineGroup] ??= new JsonObject()).AsObject())["combine_with_trees"] = combine;
                config = NnConfig.Parse(json.ToJsonString());
            }
            Console.WriteLine($"== {run}: {configPath} ({ModelGrid.Expand(config).Count} trials), " +
                              $"signals {(dataset.Signals is null ? "none" : dataset.Signals.Set.ToString())}, " +
                              $"train/val/test/val_recent {dataset.Train.Count:N0}/{dataset.Validation.Count:N0}/{dataset.Test.Count:N0}/{dataset.ValidationRecent.Count:N0}" +
                              (dataset.Summary.ValidationRecentFrom is { } from ? $" (val_recent from {DateTimeOffset.FromUnixTimeSeconds(from):yyyy-MM-dd HH:mm} UTC)" : "") +
                              $", vocabulary {dataset.Vocabulary.Count}, validation_selection {ValidationSelections.Name(config.Pipeline.ValidationSelection)}");
            var clock = Stopwatch.StartNew();
            using var result = Experiment.Run(dataset, config, new GridSearchRun(Cores: threads, OnTrialCompleted: t =>
                Console.Error.WriteLine($"  trial {t.Trial.Index} selection score {t.Training.BestValidationMetric:0.0000} epoch {t.Training.BestEpoch}/{t.Training.History.Count} ({t.Seconds:0} s)")));
            Console.Write(ValidationText(result.Report));
            Console.WriteLine($"best {result.Report.Best.DisplayName}, epoch {result.Report.Best.BestEpoch}, {clock.Elapsed.TotalSeconds:0} s" +
                              (result.Checkpoint.TreesBlend is { } blend ? $", blended with the trees at model weight {blend.ModelWeight:0.00} (chosen on validation)" : "") + "; test:");
            Console.Write(result.Report.Test.ToText());
            if (task == PredictionTask.Churn) WriteCalibration(result.Report.Test, result.Checkpoint);
            if (dataset.Signals is { } encoding) WriteWithoutSignals(dataset, encoding, result.Checkpoint);
            if (outFolder is not null)
                ExperimentArtifacts.WriteAll(new FolderArtifactSink(Path.Combine(outFolder, run)), result.Report, result.Checkpoint, dataset);
            if (probabilities is not null && task == PredictionTask.Churn)
                WriteRawChurnProbabilities(probabilities, run, result.Checkpoint, dataset);
        }
        return 0;
    }

    /// <summary>Every trial's grid metric on both validation splits and its selection score, and the trial each rule
    /// would pick (the trials' epochs were chosen under the config's rule).</summary>
    private static string ValidationText(ExperimentReport report)
    {
        var metric = report.GridSearchMetric;
        var text = new System.Text.StringBuilder();
        double Users(TrialSummary t) => t.Validation.GetValueOrDefault(metric, double.NaN);
        double Recent(TrialSummary t) => t.RecentValidation.GetValueOrDefault(metric, double.NaN);
        foreach (var t in report.Trials)
            text.AppendLine($"  {t.DisplayName}: val {metric} {Users(t):0.0000} (users), {Recent(t):0.0000} (last days), selection {t.SelectionScore:0.0000}, epoch {t.BestEpoch}");
        var higher = MetricNames.HigherIsBetter(metric);
        string Pick(Func<TrialSummary, double> score)
        {
            var ranked = report.Trials.Where(t => !double.IsNaN(score(t))).ToArray();
            if (ranked.Length == 0) return "-";
            var best = higher ? ranked.MaxBy(score)! : ranked.MinBy(score)!;
            return $"trial {best.Index}";
        }
        text.AppendLine($"  picked by users: {Pick(Users)}, by last days: {Pick(Recent)}, by selection score: {Pick(t => t.SelectionScore)}");
        return text.ToString();
    }

    /// <summary>The served model on the test split as requests without any signal reach it (every field missing).</summary>
    private static void WriteWithoutSignals(PreparedDataset dataset, SignalEncoding encoding, ModelCheckpoint checkpoint)
    {
        var masked = dataset.Test.Select(e => e with { Signals = SignalInputs.Encode(encoding, null, e.Tokens.Length) }).ToArray();
        var report = TestEvaluator.ScoreModel(dataset with { Test = masked }, checkpoint);
        Console.WriteLine("test, requests without signals:");
        Console.Write(EvaluationComparison.ToText(new Dictionary<string, IEvaluationReport> { [TestEvaluation.ModelName] = report }));
    }

    /// <summary>How far the test ECE can be trusted on this many users (<see cref="CalibrationError"/>): the model's
    /// (as served, after the checkpoint's calibration) and the trees'.</summary>
    private static void WriteCalibration(TestEvaluation test, ModelCheckpoint checkpoint)
    {
        var labels = test.ModelPredictions.Labels;
        var fittedOn = checkpoint.Config.Pipeline.ChurnCalibrationData == CalibrationData.ValidationAndRecent ? "validation and val_recent" : "validation";
        Console.WriteLine($"calibration on test ({CalibrationMethods.Name(checkpoint.ChurnCalibration.Method)}, fitted on {fittedOn}):");
        Console.WriteLine($"  model: {CalibrationError.Summary(labels, PredictionScoring.ChurnProbabilities(test.ModelPredictions))}");
        if (test.BaselineChurnProbabilities.TryGetValue(GradientBoostedTreesBaseline.BaselineName, out var trees))
            Console.WriteLine($"  {GradientBoostedTreesBaseline.BaselineName}: {CalibrationError.Summary(labels, trees)}");
    }

    /// <summary>The probabilities the checkpoint's calibration maps (the sequence model's, blended with the trees when the
    /// checkpoint blends; uncalibrated) on validation, val_recent and test, one CSV row per user.</summary>
    private static void WriteRawChurnProbabilities(TextWriter writer, string run, ModelCheckpoint checkpoint, PreparedDataset dataset)
    {
        var init = checkpoint.Config.Init;
        foreach (var (split, examples) in new[] { ("validation", dataset.Validation), ("val_recent", dataset.ValidationRecent), ("test", dataset.Test) })
        {
            var model = Trainer.Predict(checkpoint.Model, examples, init.MaxSequenceLength, checkpoint.Config.Training.BatchSize);
            var predictions = checkpoint.TreesBlend is { } blend ? blend.Combine(model, examples) : model;
            for (var i = 0; i < predictions.Count; i++)
                writer.WriteLine(FormattableString.Invariant($"{run},{split},{predictions.Labels[i]},{predictions.Probabilities[i]:R}"));
        }
        writer.Flush();
    }

    /// <summary>The runs named in <paramref name="runsText"/> (all when null), each checked, then prepared from one
    /// read of the export: the shared start of <c>bench real</c> and <c>bench baselines</c>.</summary>
    private static IEnumerable<(string Run, string Protocol, PredictionTask Task, PreparedDataset Dataset)> PreparedRuns(
        string data, string? runsText, SignalSet signals, double? holdoutDays = null, double? signalDropout = null)
    {
        var runs = runsText?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? AllRuns;
        foreach (var run in runs)
            if (!AllRuns.Contains(run)) throw new ArgumentException($"unknown run '{run}'; allowed: {string.Join(", ", AllRuns)}");
        var events = Read(data, signals);
        foreach (var run in runs)
        {
            var protocol = run.Split('-')[0];
            var task = run.EndsWith("churn", StringComparison.Ordinal) ? PredictionTask.Churn : PredictionTask.Events;
            yield return (run, protocol, task, Prepare(events, task, protocol, signals, holdoutDays, signalDropout));
        }
    }

    /// <summary><c>bench baselines</c>: the runs of <c>bench real</c> without the model: every baseline on test, and how
    /// long the gradient-boosted trees take to fit (one thread) and to score the test split.</summary>
    public static int Baselines(string data, string? runsText, int seed, SignalSet? signals = null)
    {
        foreach (var (run, protocol, task, dataset) in PreparedRuns(data, runsText, signals ?? SignalSet.None))
        {
            // As bench real's models: time gaps under the default protocol only; signals when asked for (default protocol).
            var options = new GradientBoostedTreesOptions(UseTimeGaps: protocol != "original", Seed: seed, Signals: dataset.Signals);
            var clock = Stopwatch.StartNew();
            var vocabulary = dataset.Vocabulary;
            IReadOnlyDictionary<string, IEvaluationReport> reports;
            double fitSeconds;
            if (task == PredictionTask.Events)
            {
                var trees = GradientBoostedTreesBaseline.FitNextEvent(dataset.Train, dataset.Validation, vocabulary.Count, options);
                fitSeconds = clock.Elapsed.TotalSeconds;
                reports = BaselineSuite.Evaluate(dataset.Train, dataset.Test, vocabulary, task, extraNextEvent: [trees]);
            }
            else
            {
                var trees = GradientBoostedTreesBaseline.FitChurn(dataset.Train, dataset.Validation, vocabulary.Count, options);
                fitSeconds = clock.Elapsed.TotalSeconds;
                reports = BaselineSuite.Evaluate(dataset.Train, dataset.Test, vocabulary, task, extraChurn: [trees]);
            }
            Console.WriteLine($"== {run}: train/val/test {dataset.Train.Count:N0}/{dataset.Validation.Count:N0}/{dataset.Test.Count:N0}, " +
                              $"trees fit {fitSeconds:0.0} s, all baselines fitted and scored in {clock.Elapsed.TotalSeconds:0.0} s; test:");
            Console.Write(EvaluationComparison.ToText(reports));
        }
        return 0;
    }

    /// <summary><c>bench grid36</c>: the whole grid of a config (config/nn/rnn.json: the original's 36) timed end to end.</summary>
    public static int Grid(string data, string configPath, PredictionTask task, int threads)
    {
        var dataset = Prepare(Read(data), task, "default");
        var config = Config(configPath, task, "default");
        var trials = ModelGrid.Expand(config).Count;
        Console.WriteLine($"grid: {configPath}, {trials} trials, {dataset.Summary.Sessions:N0} sessions, " +
                          $"train/val/test {dataset.Train.Count:N0}/{dataset.Validation.Count:N0}/{dataset.Test.Count:N0}, threads {(threads == 0 ? Environment.ProcessorCount : threads)}");
        var clock = Stopwatch.StartNew();
        var done = 0;
        using var result = Experiment.Run(dataset, config, new GridSearchRun(Cores: threads, OnTrialCompleted: t =>
            Console.Error.Write($"\r{Interlocked.Increment(ref done)}/{trials} trials, {clock.Elapsed.TotalSeconds:0} s")));
        Console.Error.WriteLine();
        var epochs = result.Report.Trials.Sum(t => t.History.Count);
        Console.WriteLine($"grid wall time {clock.Elapsed.TotalSeconds:0.0} s ({clock.Elapsed.TotalMinutes:0.00} min), {epochs} epochs in all, " +
                          $"best {result.Report.Best.DisplayName}; peak memory {PeakMemory.Megabytes():0} MB; test:");
        Console.Write(result.Report.Test.ToText());
        return 0;
    }

    /// <summary><c>bench throughput</c>: training throughput (sequences/s, from the epochs) and the process's peak memory.</summary>
    public static int Throughput(string data, string configPath, PredictionTask task, int threads)
    {
        var dataset = Prepare(Read(data), task, "default");
        var config = Config(configPath, task, "default");
        var before = PeakMemory.Megabytes();
        var clock = Stopwatch.StartNew();
        using var result = Experiment.Run(dataset, config, new GridSearchRun(Cores: threads));
        var epochs = result.Report.Trials.SelectMany(t => t.History).ToArray();
        Console.WriteLine($"{config.Kind} {configPath}: {epochs.Length} epochs over {result.Report.Trials.Count} trial(s) on {dataset.Train.Count:N0} training sequences, " +
                          $"{clock.Elapsed.TotalSeconds:0.0} s; training throughput mean {epochs.Average(e => e.SequencesPerSecond):N0} seq/s per trial " +
                          $"(min {epochs.Min(e => e.SequencesPerSecond):N0}, max {epochs.Max(e => e.SequencesPerSecond):N0}); " +
                          $"peak memory {PeakMemory.Megabytes():0} MB (after reading and preparing: {before:0} MB)");
        Console.Write(result.Report.Test.ToText());
        return 0;
    }

    /// <summary><c>bench predict-latency</c>: one session at a time through <see cref="Predictor"/> (1 intra-op thread).</summary>
    public static int PredictLatency(string modelPath, string eventsText, int runs)
    {
        using var stream = File.OpenRead(modelPath);
        using var predictor = Predictor.Load(stream);
        var events = eventsText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var gaps = predictor.Checkpoint.Config.Init.UseTimeGaps ? events.Select((_, i) => i == 0 ? 0.0 : 10.0).ToArray() : null;
        SessionInput[] input = [new(events, gaps)];
        for (var i = 0; i < 50; i++) predictor.Predict(input, 3); // warm-up: JIT and torch's first-call allocations
        var milliseconds = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            predictor.Predict(input, 3);
            milliseconds[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(milliseconds);
        Console.WriteLine($"predict batch-1 ({events.Length} events, {predictor.Checkpoint.Config.Kind}, {predictor.Checkpoint.Task}), {runs} runs, 1 intra-op thread: " +
                          $"p50 {Percentile(milliseconds, 0.50):0.000} ms, p99 {Percentile(milliseconds, 0.99):0.000} ms, max {milliseconds[^1]:0.000} ms");
        return 0;
    }

    private static double Percentile(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];

    private static EventTable Read(string data, SignalSet? signals = null)
    {
        var source = EventSources.Open(data, EventSourceOptions.FromEnvironment() with { Signals = signals ?? SignalSet.None });
        var clock = Stopwatch.StartNew();
        var events = source.ReadTableAsync().GetAwaiter().GetResult();
        Console.Error.WriteLine($"read {source.Description} in {clock.Elapsed.TotalSeconds:0.0} s");
        return events;
    }

    private static PreparedDataset Prepare(EventTable events, PredictionTask task, string protocol, SignalSet? signals = null,
        double? holdoutDays = null, double? signalDropout = null)
    {
        var options = PrepareOptions.Default with
        {
            Signals = signals is { IsEmpty: false } ? signals : null,
            HoldoutDays = holdoutDays ?? PrepareOptions.DefaultHoldoutDays,
            SignalDropout = signalDropout,
        };
        if (protocol == "original") options = options.AsOriginalProtocol();
        return DatasetPreparer.Prepare(events, task, options, protocol);
    }

    private static NnConfig Config(string path, PredictionTask task, string protocol, bool useSignals = false)
    {
        var overrides = new Dictionary<string, JsonNode> { ["task"] = PredictionTasks.Name(task) };
        if (protocol == "original") overrides["use_time_gaps"] = false;
        if (useSignals) overrides["use_signals"] = true;
        return NnConfig.Load(path).WithOverrides(overrides);
    }

    internal static PredictionTask Task(string? text) =>
        text is null ? PredictionTask.Events
        : PredictionTasks.TryParse(text, out var task) ? task
        : throw new ArgumentException($"--task must be events or churn, not '{text}'");
}
