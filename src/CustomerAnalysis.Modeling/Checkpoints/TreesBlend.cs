using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation.Baselines;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Baselines;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Checkpoints;

/// <summary>
/// <c>combine_with_trees: "blend"</c>: the served model is the sequence model blended with gradient-boosted trees
/// (<see cref="GradientBoostedTreesBaseline"/>, fitted on the same training split with the options the trees
/// baseline gets, <see cref="OptionsFor"/>). Churn: sigmoid(w·logit(p_model) + (1 − w)·logit(p_trees)); next event:
/// softmax(w·ln p_model + (1 − w)·ln p_trees) (a weighted geometric mean of the two distributions). The weight w is
/// the best of 0, 0.05, …, 1 on the validation split by the config's <c>grid_search_metric</c> (ties keep the larger
/// w, the sequence model's side); test is never read. One instance is shared by evaluation, the predictor and batch
/// scoring, so all three compute the same numbers.
/// </summary>
public sealed class TreesBlend
{
    public const int WeightSteps = 20;
    // Probabilities are clipped before the logit / log so a tree's or model's 0 or 1 cannot make ±∞.
    private const double Clip = 1e-7;

    private readonly IChurnBaseline? _churn;
    private readonly INextEventBaseline? _nextEvent;

    private TreesBlend(double modelWeight, IChurnBaseline? churn, INextEventBaseline? nextEvent, byte[] savedTrees)
    {
        if (!(modelWeight is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(modelWeight), modelWeight, "The model weight is in [0, 1].");
        ModelWeight = modelWeight;
        _churn = churn;
        _nextEvent = nextEvent;
        SavedTrees = savedTrees;
    }

    /// <summary>w: the sequence model's share (1 = the model alone, 0 = the trees alone).</summary>
    public double ModelWeight { get; }

    /// <summary>The trees as an ML.NET model zip (what the checkpoint stores).</summary>
    internal byte[] SavedTrees { get; }

    /// <summary>The trees' options for a model's config: what the trees baseline of its evaluation gets (time gaps
    /// only when the model uses them, its signals when it uses them, the config's seed).</summary>
    public static GradientBoostedTreesOptions OptionsFor(NnConfig config, SignalEncoding? signals) =>
        new(UseTimeGaps: config.Init.UseTimeGaps, Seed: config.Training.Seed, Signals: config.Init.UseSignals ? signals : null);

    /// <summary>Fits the trees on <paramref name="data"/>'s training split (or takes <paramref name="trees"/>, fitted
    /// on it before with this config's options: <see cref="BlendTrees"/>) and w on its validation split against
    /// <paramref name="result"/>'s validation predictions (the kept epoch's, uncalibrated).</summary>
    public static TreesBlend Fit(TrainingResult result, PreparedDataset data, ValidationMetric metric, BlendTrees? trees = null)
    {
        if (data.Validation.Count == 0 || result.ValidationPredictions.Count != data.Validation.Count)
            throw new InvalidInputException(
                $"Setting {NnConfig.PipelineGroup}.combine_with_trees \"blend\" chooses the blend's weight on the validation split, " +
                "which is empty: prepare the data with a validation split, or set combine_with_trees to \"none\".");
        var options = OptionsFor(result.Config, data.Signals);
        if (trees is null) trees = BlendTrees.Fit(data, options);
        else if (!ReferenceEquals(trees.Data, data) || trees.Options != options || trees.Data.Task != result.Model.Task)
            throw new ArgumentException("The trees were fitted on another dataset or with other options than this model's.", nameof(trees));
        var fitted = new TreesBlend(1, trees.Churn, trees.NextEvent, trees.Saved);

        var treeScores = fitted.TreeScores(data.Validation);
        var bestWeight = 1.0;
        var bestScore = double.NaN;
        for (var step = WeightSteps; step >= 0; step--)
        {
            var weight = (double)step / WeightSteps;
            var score = metric.Score(Combine(result.ValidationPredictions, treeScores, weight));
            if (metric.IsBetter(score, bestScore))
                (bestWeight, bestScore) = (weight, score);
        }
        return new TreesBlend(bestWeight, fitted._churn, fitted._nextEvent, fitted.SavedTrees);
    }

    /// <summary>Trees saved by a checkpoint, read back with the model's config and signals.</summary>
    internal static TreesBlend Read(double modelWeight, byte[] savedTrees, PredictionTask task, int vocabularySize,
        GradientBoostedTreesOptions options)
    {
        using var source = new MemoryStream(savedTrees, writable: false);
        return task == PredictionTask.Churn
            ? new TreesBlend(modelWeight, GradientBoostedTreesBaseline.LoadChurn(source, vocabularySize, options), null, savedTrees)
            : new TreesBlend(modelWeight, null, GradientBoostedTreesBaseline.LoadNextEvent(source, vocabularySize, options), savedTrees);
    }

    /// <summary>The trees' scores: churn one probability per example, next event [example × class] probabilities.</summary>
    public float[] TreeScores(IReadOnlyList<SequenceExample> examples) =>
        _churn is not null
            ? _churn.PredictChurnProbabilities(examples).Select(p => (float)p).ToArray()
            : _nextEvent!.PredictScores(examples);

    /// <summary>Next event: [example × <paramref name="classes"/>] model probabilities blended row by row with the trees'.</summary>
    public float[] CombineRows(float[] model, float[] trees, int classes)
    {
        if (model.Length != trees.Length || classes < 1 || model.Length % classes != 0)
            throw new ArgumentException($"The model scored {model.Length} values, the trees {trees.Length}, in rows of {classes}.", nameof(trees));
        var blended = new float[model.Length];
        for (var offset = 0; offset < model.Length; offset += classes)
            CombineRow(model.AsSpan(offset, classes), trees.AsSpan(offset, classes), blended.AsSpan(offset, classes), ModelWeight);
        return blended;
    }

    /// <summary>The blended predictions of the sequence model's <paramref name="model"/> predictions (uncalibrated)
    /// on <paramref name="examples"/>.</summary>
    public PredictionSet Combine(PredictionSet model, IReadOnlyList<SequenceExample> examples)
    {
        if (model.Count != examples.Count)
            throw new ArgumentException($"{model.Count} predictions for {examples.Count} examples.", nameof(model));
        return Combine(model, TreeScores(examples), ModelWeight);
    }

    /// <summary>Churn: the blended probability of one example.</summary>
    public double CombineChurn(double model, double trees) => CombineChurn(model, trees, ModelWeight);

    private static double CombineChurn(double model, double trees, double weight) =>
        Sigmoid(weight * Logit(model) + (1 - weight) * Logit(trees));

    private static PredictionSet Combine(PredictionSet model, float[] trees, double weight)
    {
        if (trees.Length != model.Probabilities.Length)
            throw new ArgumentException($"The trees scored {trees.Length} values, the model {model.Probabilities.Length}.", nameof(trees));
        var blended = new float[trees.Length];
        if (model.Classes == 1)
        {
            for (var i = 0; i < blended.Length; i++)
                blended[i] = (float)CombineChurn(model.Probabilities[i], trees[i], weight);
        }
        else
        {
            for (var i = 0; i < model.Count; i++)
                CombineRow(model.Row(i), trees.AsSpan(i * model.Classes, model.Classes), blended.AsSpan(i * model.Classes, model.Classes), weight);
        }
        return model with { Probabilities = blended };
    }

    private static void CombineRow(ReadOnlySpan<float> model, ReadOnlySpan<float> trees, Span<float> blended, double weight)
    {
        if (model.Length != trees.Length || blended.Length != model.Length)
            throw new ArgumentException($"Rows of {model.Length}, {trees.Length} and {blended.Length} classes.");
        Span<double> logs = model.Length <= 1024 ? stackalloc double[model.Length] : new double[model.Length];
        var max = double.NegativeInfinity;
        for (var c = 0; c < model.Length; c++)
        {
            logs[c] = weight * Math.Log(Math.Max(model[c], Clip)) + (1 - weight) * Math.Log(Math.Max(trees[c], Clip));
            max = Math.Max(max, logs[c]);
        }
        var total = 0.0;
        for (var c = 0; c < logs.Length; c++) total += logs[c] = Math.Exp(logs[c] - max);
        for (var c = 0; c < logs.Length; c++) blended[c] = (float)(logs[c] / total);
    }

    private static double Logit(double p)
    {
        p = Math.Clamp(p, Clip, 1 - Clip);
        return Math.Log(p / (1 - p));
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}

/// <summary>
/// Trees fitted for a blend (<see cref="TreesBlend"/>) on one prepared dataset's training split, early-stopped on its
/// validation split. They depend on the dataset and <see cref="GradientBoostedTreesOptions"/> only (time gaps, seed,
/// signals), not on the sequence model's other settings, so a run's trials on one dataset can share one fit.
/// </summary>
public sealed class BlendTrees
{
    private BlendTrees(PreparedDataset data, GradientBoostedTreesOptions options, IChurnBaseline? churn, INextEventBaseline? nextEvent, byte[] saved)
    {
        Data = data;
        Options = options;
        Churn = churn;
        NextEvent = nextEvent;
        Saved = saved;
    }

    /// <summary>The dataset the trees were fitted on.</summary>
    public PreparedDataset Data { get; }
    public GradientBoostedTreesOptions Options { get; }
    internal IChurnBaseline? Churn { get; }
    internal INextEventBaseline? NextEvent { get; }
    /// <summary>The trees as an ML.NET model zip.</summary>
    internal byte[] Saved { get; }

    /// <summary>Fits the trees of <paramref name="data"/>'s task on its training split.</summary>
    public static BlendTrees Fit(PreparedDataset data, GradientBoostedTreesOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var vocabularySize = data.Vocabulary.Count;
        object trees = data.Task == PredictionTask.Churn
            ? GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, vocabularySize, options)
            : GradientBoostedTreesBaseline.FitNextEvent(data.Train, data.Validation, vocabularySize, options);
        using var saved = new MemoryStream();
        GradientBoostedTreesBaseline.Save(trees, saved);
        return new BlendTrees(data, options, trees as IChurnBaseline, trees as INextEventBaseline, saved.ToArray());
    }
}
