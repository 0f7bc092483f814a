using System.Diagnostics;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Data;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Training;

/// <summary>How one training run executes (not what it learns: that is the config).</summary>
/// <param name="Threads">torch intra-op threads for this run (set on the calling thread).</param>
/// <param name="Seed">Weights, shuffling and dropout all derive from it.</param>
/// <param name="OnEpoch">Called after each epoch on the training thread.</param>
public sealed record TrainingRun(int Threads, int Seed, Action<EpochRecord>? OnEpoch = null, CancellationToken Cancellation = default)
{
    /// <summary>Called after each epoch with the epoch and the best validation score so far; false stops the trial
    /// there (a search's scheduler, e.g. <see cref="Asha.Stopper"/>), keeping its best weights.</summary>
    public Func<int, double, bool>? KeepGoing { get; init; }
}

/// <summary>
/// Trains one config on a prepared dataset: length-bucketed batches, Adam/AdamW, optional L1/L2 penalty, gradient
/// clipping, class weights, early stopping on the validation metric with the best epoch's weights restored. The
/// score that ranks epochs is <c>pipeline_params.validation_selection</c>'s (<see cref="ValidationSelections.Score"/>)
/// of the validation and val_recent splits; <see cref="TrainingResult.BestValidationMetric"/> is that score.
/// </summary>
public static class Trainer
{
    private const int StepsBetweenMemoryTrims = 20;

    public static TrainingResult Train(PreparedDataset data, NnConfig config, ValidationMetric metric, TrainingRun run)
    {
        var training = config.Training;
        if (training.Task != data.Task)
            throw new InvalidInputException(
                $"Setting model_training_params.task is \"{PredictionTasks.Name(training.Task)}\" but the dataset is for \"{PredictionTasks.Name(data.Task)}\".");
        if (data.Train.Count == 0) throw new InvalidInputException("The dataset's training split is empty.");
        if (data.Validation.Count == 0) throw new InvalidInputException("The dataset's validation split is empty (needed for early stopping).");

        var selection = config.Pipeline.ValidationSelection;
        torch.set_num_threads(Math.Max(1, run.Threads));
        var device = ModelFactory.ResolveDevice(training.Device);
        var maxLength = config.Init.MaxSequenceLength;
        var model = ModelFactory.Create(config, data.Task, data.Vocabulary.Count, run.Seed, device, data.Signals);
        try
        {
            // A wide part's standardization is the training split's (stored with the weights).
            model.Aggregates?.Fit(data.Train);
            using var generator = new Generator((ulong)run.Seed, device);
            model.UseGenerator(generator);
            using var classWeights = ClassWeights(data, training, device);
            using var optimizer = CreateOptimizer(model, training);
            var random = new Random(run.Seed);
            var lengths = data.Train.Select(e => Math.Min(e.Tokens.Length, maxLength)).ToArray();

            var history = new List<EpochRecord>();
            Dictionary<string, Tensor>? bestWeights = null;
            var bestMetric = double.NaN;
            var bestEpoch = 0;
            var epochsWithoutImprovement = 0;
            var stoppedEarly = false;
            int? stoppedAtRung = null;
            var step = 0;

            for (var epoch = 1; epoch <= training.NumEpochs; epoch++)
            {
                var clock = Stopwatch.StartNew();
                model.train();
                double lossSum = 0;
                foreach (var batchIndices in BatchPlanner.TrainingBatches(lengths, training.BatchSize, random, config.Pipeline.ShuffleTrain))
                {
                    run.Cancellation.ThrowIfCancellationRequested();
                    using (torch.NewDisposeScope())
                    {
                        var batch = model.BatchOf(data.Train, batchIndices, maxLength, device);
                        using var labels = Labels(data.Train, batchIndices, data.Task, device);
                        optimizer.ZeroGrad();
                        var output = model.Forward(batch);
                        var loss = Loss(output.Logits, labels, data.Task, classWeights);
                        lossSum += loss.item<float>() * batchIndices.Length;
                        var penalty = Penalty(model, training);
                        (penalty is null ? loss : loss.Plus(penalty)).backward();
                        if (training.GradientClipNorm > 0) nn.utils.clip_grad_norm_(model.parameters(), training.GradientClipNorm);
                        optimizer.Step();
                    }
                    if (++step % StepsBetweenMemoryTrims == 0) NativeMemory.Trim();
                }
                var trainSeconds = clock.Elapsed.TotalSeconds;

                var (validation, validationLoss) = Evaluate(model, data.Validation, data.Task, maxLength, training.BatchSize, device, classWeights);
                var usersScore = metric.Score(validation);
                // The last days' split is scored every epoch only when the selection rule looks at it.
                var recentScore = selection.UsesRecent() && data.ValidationRecent.Count > 0
                    ? metric.Score(Evaluate(model, data.ValidationRecent, data.Task, maxLength, training.BatchSize, device, classWeights).Predictions)
                    : double.NaN;
                var score = selection.Score(usersScore, recentScore);
                var record = new EpochRecord(epoch, lossSum / data.Train.Count, validationLoss, usersScore, clock.Elapsed.TotalSeconds,
                    data.Train.Count / Math.Max(trainSeconds, 1e-9))
                {
                    RecentValidationMetric = recentScore,
                    SelectionScore = score,
                };
                history.Add(record);
                run.OnEpoch?.Invoke(record);

                if (bestWeights is null || metric.IsBetter(score, bestMetric))
                {
                    DisposeAll(bestWeights);
                    bestWeights = Snapshot(model);
                    (bestMetric, bestEpoch, epochsWithoutImprovement) = (score, epoch, 0);
                }
                else if (config.Pipeline.EarlyStoppingPatience > 0 && ++epochsWithoutImprovement >= config.Pipeline.EarlyStoppingPatience)
                {
                    stoppedEarly = epoch < training.NumEpochs;
                    break;
                }
                if (epoch < training.NumEpochs && run.KeepGoing is { } keepGoing && !keepGoing(epoch, bestMetric))
                {
                    (stoppedEarly, stoppedAtRung) = (true, epoch);
                    break;
                }
            }

            model.load_state_dict(bestWeights!);
            DisposeAll(bestWeights);
            NativeMemory.Trim();
            var (bestValidation, _) = Evaluate(model, data.Validation, data.Task, maxLength, training.BatchSize, device, classWeights);
            var bestRecent = data.ValidationRecent.Count > 0
                ? Evaluate(model, data.ValidationRecent, data.Task, maxLength, training.BatchSize, device, classWeights).Predictions
                : null;
            model.UseGenerator(null);
            return new TrainingResult(config, model, history, bestEpoch, bestMetric, bestValidation, stoppedEarly)
            {
                StoppedAtRung = stoppedAtRung,
                RecentValidationPredictions = bestRecent,
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The model's predictions for <paramref name="examples"/>, in their order.</summary>
    public static PredictionSet Predict(SequenceModel model, IReadOnlyList<SequenceExample> examples, int maxLength, int batchSize)
    {
        var device = model.parameters().First().device;
        return Evaluate(model, examples, model.Task, maxLength, batchSize, device, classWeights: null).Predictions;
    }

    private static (PredictionSet Predictions, double Loss) Evaluate(SequenceModel model, IReadOnlyList<SequenceExample> examples,
        PredictionTask task, int maxLength, int batchSize, Device device, Tensor? classWeights)
    {
        model.eval();
        var classes = task == PredictionTask.Events ? model.VocabularySize : 1;
        var probabilities = new float[examples.Count * classes];
        var labels = examples.Select(e => e.Label).ToArray();
        double lossSum = 0;
        using var _ = torch.no_grad();
        var lengths = examples.Select(e => Math.Min(e.Tokens.Length, maxLength)).ToArray();
        foreach (var batchIndices in BatchPlanner.EvaluationBatches(lengths, batchSize))
        {
            using var scope = torch.NewDisposeScope();
            var batch = model.BatchOf(examples, batchIndices, maxLength, device);
            var batchLabels = Labels(examples, batchIndices, task, device);
            var logits = model.Forward(batch).Logits;
            lossSum += Loss(logits, batchLabels, task, classWeights).item<float>() * batchIndices.Length;
            var batchProbabilities = (task == PredictionTask.Events ? logits.softmax(-1) : logits.sigmoid()).cpu().data<float>().ToArray();
            for (var row = 0; row < batchIndices.Length; row++)
                Array.Copy(batchProbabilities, row * classes, probabilities, batchIndices[row] * classes, classes);
        }
        NativeMemory.Trim();
        return (new PredictionSet(classes, probabilities, labels), examples.Count == 0 ? double.NaN : lossSum / examples.Count);
    }

    private static Tensor Labels(IReadOnlyList<SequenceExample> examples, IReadOnlyList<int> indices, PredictionTask task, Device device) =>
        task == PredictionTask.Events
            ? torch.tensor(indices.Select(i => (long)examples[i].Label).ToArray(), ScalarType.Int64, device)
            : torch.tensor(indices.Select(i => (float)examples[i].Label).ToArray(), ScalarType.Float32, device);

    private static Tensor Loss(Tensor logits, Tensor labels, PredictionTask task, Tensor? classWeights) =>
        task == PredictionTask.Events
            ? nn.functional.cross_entropy(logits, labels, classWeights)
            : nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weights: classWeights);

    /// <summary>reg_lambda × Σ|w| (L1) or reg_lambda × Σw² (L2) over all parameters; null when off.</summary>
    private static Tensor? Penalty(SequenceModel model, TrainingParams training)
    {
        if (training.RegType == "none" || training.RegLambda == 0) return null;
        Tensor? sum = null;
        foreach (var parameter in model.parameters())
        {
            // x·x, not square(): TorchSharp's square() passes a temporary Scalar exponent (see AdamOptimizer).
            var term = training.RegType == "L1" ? parameter.abs().sum() : parameter.mul(parameter).sum();
            sum = sum is null ? term : sum.Plus(term);
        }
        if (sum is null) return null;
        using var lambda = training.RegLambda.ToScalar();
        return sum.mul(lambda);
    }

    /// <summary>
    /// "balanced": churn → positive weight = returned / churned; events → each class weighted by
    /// count(all) / (classes seen × count(class)), classes never seen in training weighted 1. Null when "none".
    /// </summary>
    private static Tensor? ClassWeights(PreparedDataset data, TrainingParams training, Device device)
    {
        if (training.ClassWeights == "none") return null;
        if (data.Task == PredictionTask.Churn)
        {
            var churned = data.Train.Count(e => e.Label == 1);
            var returned = data.Train.Count - churned;
            if (churned == 0 || returned == 0)
                throw new InvalidInputException("Setting model_training_params.class_weights is \"balanced\" but the training split has only one label.");
            return torch.tensor(new[] { (float)returned / churned }, ScalarType.Float32, device);
        }
        var counts = new long[data.Vocabulary.Count];
        foreach (var example in data.Train) counts[example.Label]++;
        var seen = counts.Count(c => c > 0);
        var weights = counts.Select(c => c == 0 ? 1f : (float)data.Train.Count / (seen * c)).ToArray();
        return torch.tensor(weights, ScalarType.Float32, device);
    }

    private static AdamOptimizer CreateOptimizer(SequenceModel model, TrainingParams training) =>
        new(model.parameters(), training.LearningRate, training.WeightDecay, decoupled: training.Optimizer != "adam");

    private static Dictionary<string, Tensor> Snapshot(SequenceModel model) =>
        model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.detach().clone());

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var tensor in tensors.Values) tensor.Dispose();
    }
}
