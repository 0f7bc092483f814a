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
            model.FitAggregates(data.Train);
            using var generator = new Generator((ulong)run.Seed, device);
            model.UseGenerator(generator);
            using var classWeights = ClassWeights(data, training, device);
            using var auxiliary = CreateAuxiliaryHead(config, data.Task, data.Vocabulary.Count, device);
            using var optimizer = CreateOptimizer(model, training, auxiliary);
            var clipGroups = ClipGroups(model, auxiliary);
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
                        // The task's loss alone, whatever is added for training below: comparable with validation's.
                        lossSum += loss.item<float>() * batchIndices.Length;
                        if (model is EnsembleModel ensemble)
                            loss = EnsembleLoss(ensemble, auxiliary, output, batch, labels, data.Task, training, classWeights);
                        else if (auxiliary is not null && AuxiliaryLoss(model, auxiliary, output, batch, labels, data.Task, training.AuxiliaryNextTokenWeight) is { } auxiliaryLoss)
                            loss = loss.Plus(auxiliaryLoss);
                        var penalty = Penalty(model, training);
                        (penalty is null ? loss : loss.Plus(penalty)).backward();
                        if (training.GradientClipNorm > 0)
                            foreach (var group in clipGroups) nn.utils.clip_grad_norm_(group, training.GradientClipNorm);
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

    /// <summary>The parameters clipped together: all of them for a single model; for an ensemble each member's own
    /// (and the auxiliary head's), so that a member's step is the one it would take trained alone.</summary>
    private static Parameter[][] ClipGroups(SequenceModel model, AuxiliaryHead? auxiliary)
    {
        if (model is not EnsembleModel ensemble)
            return [auxiliary is null ? [.. model.parameters()] : [.. model.parameters().Concat(auxiliary.Parameters)]];
        var groups = ensemble.Members.Select(m => m.parameters().ToArray()).ToList();
        if (auxiliary is not null) groups.Add([.. auxiliary.Parameters]);
        return [.. groups];
    }

    /// <summary>
    /// What an ensemble trains on: the sum of its members' losses (each member's own task loss plus its auxiliary
    /// next-token loss, the auxiliary head shared), so that each member learns as it would alone and they differ by
    /// their initial weights and dropout masks. The averaged output's loss instead lets them co-adapt (churn, 3 members,
    /// seeds 42/1/2: ROC-AUC 0.885/0.872/0.881 against the sum's 0.881/0.880/0.881).
    /// </summary>
    private static Tensor EnsembleLoss(EnsembleModel ensemble, AuxiliaryHead? auxiliary, ModelOutput output, SequenceBatch batch, Tensor labels,
        PredictionTask task, TrainingParams training, Tensor? classWeights)
    {
        var outputs = output.Members ?? throw new InvalidOperationException("The ensemble returned no member outputs.");
        Tensor? sum = null;
        for (var i = 0; i < outputs.Count; i++)
        {
            var loss = Loss(outputs[i].Logits, labels, task, classWeights);
            if (auxiliary is not null && AuxiliaryLoss(ensemble.Members[i], auxiliary, outputs[i], batch, labels, task, training.AuxiliaryNextTokenWeight) is { } auxiliaryLoss)
                loss = loss.Plus(auxiliaryLoss);
            sum = sum is null ? loss : sum.Plus(loss);
        }
        return sum!;
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

    private static AdamOptimizer CreateOptimizer(SequenceModel model, TrainingParams training, AuxiliaryHead? auxiliary) =>
        new(auxiliary is null ? model.parameters() : model.parameters().Concat(auxiliary.Parameters),
            training.LearningRate, training.WeightDecay, decoupled: training.Optimizer != "adam");

    /// <summary>
    /// The training-only parameters of <c>auxiliary_next_token_weight</c>; null when the weight is 0.
    /// <c>auxiliary_next_token_head</c> separate (and churn, whatever the setting: its head has one logit): a linear
    /// head of its own (state → next-token logits). shared, next event: the model's own head (<see cref="SequenceModel.StepLogits"/>) plus a bias of its own on the steps
    /// before the last, since an event inside a session is not distributed like a session's last event (the label).
    /// Zero-initialised, not nn.Linear's random init: they draw nothing from torch's process-wide generator, which a
    /// parallel trial may be seeding to build its model (<see cref="ModelFactory"/>), and this trial's weights,
    /// dropout and shuffling stay exactly those of the same config without them.
    /// </summary>
    private static AuxiliaryHead? CreateAuxiliaryHead(NnConfig config, PredictionTask task, int vocabularySize, Device device)
    {
        if (config.Training.AuxiliaryNextTokenWeight == 0) return null;
        if (config.Init is not RnnInitParams rnn)
            throw new InvalidInputException("Setting model_training_params.auxiliary_next_token_weight needs model_type \"rnn\".");
        return new AuxiliaryHead(
            config.Training.AuxiliaryNextTokenHead == AuxiliaryNextTokenHead.Shared && task == PredictionTask.Events ? null : nn.Parameter(torch.zeros([vocabularySize, rnn.HiddenSize], ScalarType.Float32, device)),
            nn.Parameter(torch.zeros([vocabularySize], ScalarType.Float32, device)));
    }

    /// <param name="Weight">Separate: state → next-token logits; null when shared (the model's head).</param>
    /// <param name="Bias">Separate: the head's bias; shared: added on the steps before the last.</param>
    private sealed record AuxiliaryHead(Parameter? Weight, Parameter Bias) : IDisposable
    {
        public IEnumerable<Parameter> Parameters => Weight is null ? [Bias] : [Weight, Bias];

        public void Dispose()
        {
            Weight?.Dispose();
            Bias.Dispose();
        }
    }

    /// <summary>
    /// weight × the mean cross-entropy of predicting, at every real step t, the event at t + 1 from the state at t
    /// (causal: the RNN's state at t has seen events ≤ t only). The last real step's target is the label for next
    /// event (the task's own target, as a language model's last step) and nothing for churn. Padding is ignored.
    /// Null when nothing is to be predicted (churn, every input one event long).
    /// </summary>
    private static Tensor? AuxiliaryLoss(SequenceModel model, AuxiliaryHead head, ModelOutput output, SequenceBatch batch, Tensor labels,
        PredictionTask task, double weight)
    {
        var states = output.StepStates ?? throw new InvalidOperationException("The model returns no per-step states for the auxiliary next-token loss.");
        var (rows, steps) = (batch.Tokens.shape[0], batch.Tokens.shape[1]);
        if (task == PredictionTask.Churn && steps == 1) return null;
        // Right-padded: the token after step t is tokens[t + 1], and Pad (ignored) after the last real step.
        var targets = torch.cat([batch.Tokens.narrow(1, 1, steps - 1), torch.zeros([rows, 1], ScalarType.Int64, batch.Tokens.device)], 1);
        var last = batch.Lengths.sub(TorchScalars.One);
        if (task == PredictionTask.Events) targets = targets.scatter(1, last.unsqueeze(1), labels.unsqueeze(1));
        Tensor logits;
        if (head.Weight is null)
        {
            var beforeLast = nn.functional.one_hot(last, steps).logical_not().to(states.dtype).unsqueeze(-1);
            logits = (model.StepLogits(states) ?? throw new InvalidOperationException("The model gives no per-step logits for the auxiliary next-token loss."))
                .Plus(beforeLast.mul(head.Bias));
        }
        else
        {
            logits = nn.functional.linear(states, head.Weight, head.Bias);
        }
        using var scale = weight.ToScalar();
        return nn.functional.cross_entropy(logits.view(rows * steps, -1), targets.view(rows * steps), ignore_index: Vocabulary.Pad).mul(scale);
    }

    private static Dictionary<string, Tensor> Snapshot(SequenceModel model) =>
        model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.detach().clone());

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null) return;
        foreach (var tensor in tensors.Values) tensor.Dispose();
    }
}
