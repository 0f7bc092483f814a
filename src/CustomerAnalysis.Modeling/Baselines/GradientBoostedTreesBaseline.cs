using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation.Baselines;
using CustomerAnalysis.Core.Preparation;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;

namespace CustomerAnalysis.Modeling.Baselines;

/// <summary>
/// How the gradient-boosted-trees baseline is fitted. The defaults are LightGBM's usual ones with a lower learning
/// rate and early stopping on the validation split; one thread, because LightGBM's multi-threaded histograms sum in
/// an order that depends on the thread split, and the baseline must give the same figures on every run.
/// </summary>
/// <param name="UseTimeGaps">Derive features from the gaps between events (off for the names-only original protocol,
/// like the model there).</param>
/// <param name="Seed">LightGBM's and ML.NET's seed.</param>
/// <param name="Signals">The dataset's signal encoding when the model uses signals (the trees then get the same
/// signals, <see cref="TreeFeatures.SignalWidth"/>); null = names and gaps only.</param>
/// <param name="MaxIterations">Boosting rounds at most (fewer when the validation loss stops improving).</param>
/// <param name="EarlyStoppingRounds">Rounds without a better validation loss before stopping (only with a
/// non-empty validation split).</param>
public sealed record GradientBoostedTreesOptions(
    bool UseTimeGaps = true,
    int Seed = 42,
    int MaxIterations = 400,
    double LearningRate = 0.05,
    int Leaves = 31,
    int MinExamplesPerLeaf = 20,
    int EarlyStoppingRounds = 30,
    SignalEncoding? Signals = null)
{
    internal void Validate()
    {
        if (MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "At least one boosting round.");
        if (!(LearningRate > 0 && LearningRate <= 1)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate is in (0, 1].");
        if (Leaves < 2) throw new ArgumentOutOfRangeException(nameof(Leaves), Leaves, "A tree has at least 2 leaves.");
        if (MinExamplesPerLeaf < 1) throw new ArgumentOutOfRangeException(nameof(MinExamplesPerLeaf), MinExamplesPerLeaf, "At least one example per leaf.");
        if (EarlyStoppingRounds < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingRounds), EarlyStoppingRounds, "0 (off) or more rounds.");
    }
}

/// <summary>
/// The baseline practitioners reach for first: LightGBM (through ML.NET) on aggregates of the input
/// (<see cref="TreeFeatures"/>), fitted on the training split, early-stopped on the validation split.
/// Names: <c>gradient_boosted_trees</c> for both tasks.
/// </summary>
public static class GradientBoostedTreesBaseline
{
    public const string BaselineName = "gradient_boosted_trees";

    public static IChurnBaseline FitChurn(IReadOnlyList<SequenceExample> train, IReadOnlyList<SequenceExample> validation,
        int vocabularySize, GradientBoostedTreesOptions options)
    {
        options.Validate();
        RequireTraining(train);
        foreach (var example in train.Concat(validation))
            if (example.Label is not (0 or 1))
                throw new InvalidInputException($"Example '{example.Id}' has churn label {example.Label}; churn labels are 0 or 1.");
        if (train.All(e => e.Label == train[0].Label))
            throw new InvalidInputException(
                "The gradient-boosted-trees baseline needs both churned and returned users in the training split; " +
                $"all {train.Count} have label {train[0].Label}.");

        var ml = new MLContext(options.Seed);
        var width = TreeFeatures.ChurnWidth(vocabularySize, options.UseTimeGaps) + TreeFeatures.SignalWidth(options.Signals, nextEvent: false);
        IDataView View(IReadOnlyList<SequenceExample> split) => ml.Data.LoadFromEnumerable(
            split.Select(e => new ChurnRow { Features = ChurnFeatures(e, vocabularySize, options.UseTimeGaps, options.Signals), Label = e.Label == 1 }),
            Schema<ChurnRow>(width, label: null));
        var trainer = ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            NumberOfIterations = options.MaxIterations,
            LearningRate = options.LearningRate,
            NumberOfLeaves = options.Leaves,
            MinimumExampleCountPerLeaf = options.MinExamplesPerLeaf,
            EarlyStoppingRound = validation.Count > 0 ? options.EarlyStoppingRounds : 0,
            Seed = options.Seed,
            NumberOfThreads = 1,
            Silent = true,
            Verbose = false,
        });
        var model = validation.Count > 0 ? trainer.Fit(View(train), View(validation)) : trainer.Fit(View(train));
        return new Churn(ml, model, vocabularySize, options.UseTimeGaps, width, options.Signals);
    }

    public static INextEventBaseline FitNextEvent(IReadOnlyList<SequenceExample> train, IReadOnlyList<SequenceExample> validation,
        int vocabularySize, GradientBoostedTreesOptions options)
    {
        options.Validate();
        RequireTraining(train);
        foreach (var example in train.Concat(validation))
            if (example.Label <= Vocabulary.Pad || example.Label >= vocabularySize)
                throw new InvalidInputException(
                    $"Example '{example.Id}' has label {example.Label}, outside the vocabulary's events (1..{vocabularySize - 1}).");

        var ml = new MLContext(options.Seed);
        var width = TreeFeatures.NextEventWidth(vocabularySize, options.UseTimeGaps) + TreeFeatures.SignalWidth(options.Signals, nextEvent: true);
        // The label is an ML.NET key over every vocabulary id, so class c's score lands in slot c even when some ids
        // never occur as labels. LightGBM's trainer takes the key's raw value as the class: raw 0 is ML.NET's
        // "missing", which is <PAD>, never a label.
        var labelType = new KeyDataViewType(typeof(uint), vocabularySize);
        IDataView View(IReadOnlyList<SequenceExample> split) => ml.Data.LoadFromEnumerable(
            split.Select(e => new EventRow { Features = NextEventFeatures(e, vocabularySize, options.UseTimeGaps, options.Signals), Label = (uint)e.Label }),
            Schema<EventRow>(width, labelType));
        var trainer = ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
        {
            NumberOfIterations = options.MaxIterations,
            LearningRate = options.LearningRate,
            NumberOfLeaves = options.Leaves,
            MinimumExampleCountPerLeaf = options.MinExamplesPerLeaf,
            EarlyStoppingRound = validation.Count > 0 ? options.EarlyStoppingRounds : 0,
            Seed = options.Seed,
            NumberOfThreads = 1,
            Silent = true,
            Verbose = false,
        });
        var model = validation.Count > 0 ? trainer.Fit(View(train), View(validation)) : trainer.Fit(View(train));
        return new NextEvent(ml, model, vocabularySize, options.UseTimeGaps, width, labelType, options.Signals);
    }

    /// <summary>Writes fitted trees (from <see cref="FitChurn"/> or <see cref="FitNextEvent"/>) as an ML.NET model
    /// zip, to be read back by <see cref="LoadChurn"/> / <see cref="LoadNextEvent"/> with the same options.</summary>
    public static void Save(object fittedTrees, Stream destination)
    {
        if (fittedTrees is not ISavableTrees trees)
            throw new ArgumentException("Only trees fitted by GradientBoostedTreesBaseline can be saved.", nameof(fittedTrees));
        trees.Save(destination);
    }

    /// <summary>Churn trees written by <see cref="Save"/>; <paramref name="options"/> as they were fitted with.
    /// Trees saved before the window-end columns (<see cref="TreeFeatures.ChurnFirstLayoutWidth"/>) keep reading the
    /// rows they were fitted on, so a stored blended churn model serves as it did.</summary>
    public static IChurnBaseline LoadChurn(Stream source, int vocabularySize, GradientBoostedTreesOptions options)
    {
        var signalWidth = TreeFeatures.SignalWidth(options.Signals, nextEvent: false);
        var width = TreeFeatures.ChurnWidth(vocabularySize, options.UseTimeGaps) + signalWidth;
        var firstLayoutWidth = TreeFeatures.ChurnFirstLayoutWidth(vocabularySize, options.UseTimeGaps) + signalWidth;
        var (ml, model, saved) = Load(source, options.Seed);
        if (saved == firstLayoutWidth)
            return new Churn(ml, model, vocabularySize, options.UseTimeGaps, saved, options.Signals, FirstLayout: true);
        RequireWidth(saved, width);
        return new Churn(ml, model, vocabularySize, options.UseTimeGaps, width, options.Signals);
    }

    /// <summary>Next-event trees written by <see cref="Save"/>; <paramref name="options"/> as they were fitted with.</summary>
    public static INextEventBaseline LoadNextEvent(Stream source, int vocabularySize, GradientBoostedTreesOptions options)
    {
        var width = TreeFeatures.NextEventWidth(vocabularySize, options.UseTimeGaps) + TreeFeatures.SignalWidth(options.Signals, nextEvent: true);
        var (ml, model, saved) = Load(source, options.Seed);
        RequireWidth(saved, width);
        return new NextEvent(ml, model, vocabularySize, options.UseTimeGaps, width, new KeyDataViewType(typeof(uint), vocabularySize), options.Signals);
    }

    /// <returns>The trees and the number of features per example they were saved with (−1 when unknown).</returns>
    private static (MLContext Ml, ITransformer Model, int Width) Load(Stream source, int seed)
    {
        var ml = new MLContext(seed);
        // ML.NET finds a saved model's loaders in registered assemblies: a serving process may not have touched
        // LightGBM's yet.
        ml.ComponentCatalog.RegisterAssembly(typeof(LightGbmBinaryModelParameters).Assembly);
        ITransformer model;
        DataViewSchema schema;
        try
        {
            model = ml.Model.Load(source, out schema);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or IOException)
        {
            throw new InvalidInputException($"The saved gradient-boosted trees cannot be read: {e.Message}", e);
        }
        var saved = schema.GetColumnOrNull(nameof(ChurnRow.Features))?.Type is VectorDataViewType { Size: var size } ? size : -1;
        return (ml, model, saved);
    }

    /// <summary>Trees saved with another number of features per example than this version computes (by a version
    /// with other <see cref="TreeFeatures"/>) are refused by name, not left to fail inside ML.NET.</summary>
    private static void RequireWidth(int saved, int width)
    {
        if (saved != width)
            throw new InvalidInputException(
                $"The saved gradient-boosted trees read {saved} features per example, this version computes {width}: " +
                "they were fitted by another version; train the model again.");
    }

    private static float[] ChurnFeatures(SequenceExample example, int vocabularySize, bool useTimeGaps, SignalEncoding? signals) =>
        TreeFeatures.Row(example, PredictionTask.Churn, vocabularySize, useTimeGaps, signals);

    private static float[] NextEventFeatures(SequenceExample example, int vocabularySize, bool useTimeGaps, SignalEncoding? signals) =>
        TreeFeatures.Row(example, PredictionTask.Events, vocabularySize, useTimeGaps, signals);

    private static void RequireTraining(IReadOnlyList<SequenceExample> train)
    {
        if (train.Count == 0)
            throw new InvalidInputException("A baseline needs at least one training example; the training split is empty.");
    }

    private static SchemaDefinition Schema<TRow>(int width, DataViewType? label)
    {
        var schema = SchemaDefinition.Create(typeof(TRow));
        schema[nameof(ChurnRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        if (label is not null) schema[nameof(ChurnRow.Label)].ColumnType = label;
        return schema;
    }

    private sealed class ChurnRow
    {
        public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    private sealed class EventRow
    {
        public float[] Features { get; set; } = [];
        public uint Label { get; set; }
    }

    private sealed class ChurnScore
    {
        public float Probability { get; set; }
    }

    private sealed class EventScore
    {
        public float[] Score { get; set; } = [];
    }

    /// <summary>Up to this many inputs are scored row by row through a prediction engine: a data view and its
    /// transform cost about a millisecond per call whatever the size, which a served request (one or a few sessions)
    /// would pay in full. Larger sets (evaluation, batch scoring) go through the data view. Both give the same numbers.</summary>
    internal const int RowByRowLimit = 64;

    private interface ISavableTrees
    {
        void Save(Stream destination);
    }

    /// <param name="FirstLayout">Trees fitted on the first churn layout (<see cref="TreeFeatures.ChurnFirstLayout"/>).</param>
    private sealed class Churn(MLContext ml, ITransformer model, int vocabularySize, bool useTimeGaps, int width,
        SignalEncoding? signals, bool FirstLayout = false) : IChurnBaseline, ISavableTrees
    {
        private float[] Features(SequenceExample example) => FirstLayout
            ? TreeFeatures.ChurnFirstLayout(ChurnFeatures(example, vocabularySize, useTimeGaps, signals), vocabularySize, useTimeGaps)
            : ChurnFeatures(example, vocabularySize, useTimeGaps, signals);

        public string Name => BaselineName;

        public void Save(Stream destination) =>
            ml.Model.Save(model, ml.Data.LoadFromEnumerable(Array.Empty<ChurnRow>(), Schema<ChurnRow>(width, label: null)).Schema, destination);

        // A prediction engine is not thread-safe: one per trees, used under its lock (the served predictor calls
        // one at a time anyway).
        private readonly Lock _engineLock = new();
        private PredictionEngine<ChurnRow, ChurnScore>? _engine;

        public double[] PredictChurnProbabilities(IReadOnlyList<SequenceExample> examples)
        {
            if (examples.Count == 0) return [];
            if (examples.Count <= RowByRowLimit)
                lock (_engineLock)
                {
                    _engine ??= ml.Model.CreatePredictionEngine<ChurnRow, ChurnScore>(model, inputSchemaDefinition: Schema<ChurnRow>(width, label: null));
                    return examples.Select(e => (double)_engine.Predict(
                        new ChurnRow { Features = Features(e) }).Probability).ToArray();
                }
            var view = ml.Data.LoadFromEnumerable(
                examples.Select(e => new ChurnRow { Features = Features(e) }),
                Schema<ChurnRow>(width, label: null));
            return model.Transform(view).GetColumn<float>("Probability").Select(p => (double)p).ToArray();
        }
    }

    private sealed class NextEvent(MLContext ml, ITransformer model, int vocabularySize, bool useTimeGaps, int width,
        DataViewType labelType, SignalEncoding? signals) : INextEventBaseline, ISavableTrees
    {
        public string Name => BaselineName;

        public void Save(Stream destination) =>
            ml.Model.Save(model, ml.Data.LoadFromEnumerable(Array.Empty<EventRow>(), Schema<EventRow>(width, labelType)).Schema, destination);

        private readonly Lock _engineLock = new();
        private PredictionEngine<EventRow, EventScore>? _engine;

        public float[] PredictScores(IReadOnlyList<SequenceExample> examples)
        {
            var scores = new float[examples.Count * vocabularySize];
            if (examples.Count == 0) return scores;
            if (examples.Count <= RowByRowLimit)
            {
                lock (_engineLock)
                {
                    _engine ??= ml.Model.CreatePredictionEngine<EventRow, EventScore>(model, inputSchemaDefinition: Schema<EventRow>(width, labelType));
                    for (var e = 0; e < examples.Count; e++)
                        CopyRow(_engine.Predict(new EventRow { Features = NextEventFeatures(examples[e], vocabularySize, useTimeGaps, signals), Label = 1 }).Score, scores, e);
                }
                return scores;
            }
            // Label 1 is a placeholder: scoring reads only the features.
            var view = ml.Data.LoadFromEnumerable(
                examples.Select(e => new EventRow { Features = NextEventFeatures(e, vocabularySize, useTimeGaps, signals), Label = 1 }),
                Schema<EventRow>(width, labelType));
            var index = 0;
            foreach (var row in model.Transform(view).GetColumn<float[]>("Score"))
                CopyRow(row, scores, index++);
            return scores;
        }

        private void CopyRow(float[] row, float[] scores, int index)
        {
            if (row.Length != vocabularySize)
                throw new InvalidOperationException($"The trees scored {row.Length} classes, not the vocabulary's {vocabularySize}.");
            row.CopyTo(scores, index * vocabularySize);
        }
    }
}
