using CustomerAnalysis.Core.Evaluation;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Configuration;

public enum ModelKind { Rnn, Transformer }

/// <summary>What the served model is (<c>pipeline_params.combine_with_trees</c>): the sequence model alone, or the
/// sequence model blended with gradient-boosted trees fitted on the same training split.</summary>
public enum TreesCombination { None, Blend }

/// <summary>What the model's output head sees beside the pooled sequence state (<c>model_init_params.aggregate_features</c>):
/// nothing (the sequence model alone), or the trees baseline's per-example aggregates (a wide-and-deep model).</summary>
public enum AggregateFeatures { None, Trees }

/// <summary>What predicts each step's next event for <c>model_training_params.auxiliary_next_token_weight</c>
/// (<c>auxiliary_next_token_head</c>): a linear head used in training only, or (next event) the model's own head, so
/// that what a session's inner steps teach reaches the served head directly. Churn's head has one logit, not one per
/// event: churn always uses a separate head, so one config serves both tasks.</summary>
public enum AuxiliaryNextTokenHead { Separate, Shared }

/// <summary>
/// A neural-network config file (<c>config/nn/rnn.json</c>, <c>config/nn/transformer.json</c>): the original
/// project's groups <c>model_init_params</c>, <c>model_training_params</c>, <c>pipeline_params</c> and
/// <c>grid_search_params</c>, plus <c>model_type</c>. Parsing validates every key; the JSON it came from is kept
/// (<see cref="ToJson"/>) so a checkpoint can store exactly what a model was trained with.
/// </summary>
public sealed class NnConfig
{
    public const string InitGroup = "model_init_params";
    public const string TrainingGroup = "model_training_params";
    public const string PipelineGroup = "pipeline_params";
    public const string GridGroup = "grid_search_params";
    private static readonly string[] TopLevelKeys = ["model_type", InitGroup, TrainingGroup, PipelineGroup, GridGroup];

    private readonly JsonObject _json;

    private NnConfig(JsonObject json, ModelKind kind, ModelInitParams init, TrainingParams training,
        PipelineParams pipeline, IReadOnlyList<SearchDimension> space)
    {
        _json = json;
        Kind = kind;
        Init = init;
        Training = training;
        Pipeline = pipeline;
        Space = space;
        Grid = space.OfType<SearchDimension.Choice>().ToDictionary(d => d.Key, d => d.Values, StringComparer.Ordinal);
    }

    public ModelKind Kind { get; }
    /// <summary><see cref="RnnInitParams"/> or <see cref="TransformerInitParams"/>, as <see cref="Kind"/> says.</summary>
    public ModelInitParams Init { get; }
    public TrainingParams Training { get; }
    public PipelineParams Pipeline { get; }
    /// <summary>Setting name → the listed values to try (the ranges are in <see cref="Space"/> only); empty when
    /// there is no grid (one trial).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<JsonNode>> Grid { get; }
    /// <summary>Every entry of <c>grid_search_params</c>, lists and ranges, in the file's order (what
    /// <see cref="ModelGrid.Expand"/> walks or draws from).</summary>
    public IReadOnlyList<SearchDimension> Space { get; }

    public static NnConfig Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read the model config {path}: {e.Message}", e);
        }
        return Parse(text);
    }

    public static NnConfig Parse(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new InvalidInputException($"The model config is not valid JSON: {e.Message}", e); }
        if (root is not JsonObject rootObject) throw new InvalidInputException("The model config must be a JSON object.");
        return FromJson(rootObject);
    }

    /// <summary>The config as JSON (what <see cref="Parse"/> reads back to an equal config).</summary>
    public string ToJson() => _json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>
    /// This config with some settings replaced (names from <c>model_init_params</c> or <c>model_training_params</c>)
    /// and no grid: one trial's config. Values are validated like the file's.
    /// </summary>
    public NnConfig WithSettings(IReadOnlyDictionary<string, JsonNode> settings)
    {
        var json = (JsonObject)_json.DeepClone();
        json.Remove(GridGroup);
        foreach (var (key, value) in settings)
        {
            var group = GroupOf(Kind, key)
                ?? throw new InvalidInputException($"Unknown setting {GridGroup}.{key}; allowed keys: {string.Join(", ", TunableKeys(Kind))}.");
            if (json[group] is not JsonObject groupObject) json[group] = groupObject = [];
            groupObject[key] = value.DeepClone();
        }
        return FromJson(json);
    }

    /// <summary>
    /// This config with some settings replaced (names from <c>model_init_params</c> or <c>model_training_params</c>,
    /// e.g. the task a command line asks for), keeping the grid; a grid entry for an overridden setting is dropped
    /// (the override wins).
    /// </summary>
    public NnConfig WithOverrides(IReadOnlyDictionary<string, JsonNode> settings)
    {
        var json = (JsonObject)_json.DeepClone();
        foreach (var (key, value) in settings)
        {
            var group = GroupOf(Kind, key)
                ?? throw new InvalidInputException($"Unknown setting {key}; allowed keys: {string.Join(", ", TunableKeys(Kind).Append("task"))}.");
            if (json[group] is not JsonObject groupObject) json[group] = groupObject = [];
            groupObject[key] = value.DeepClone();
            (json[GridGroup] as JsonObject)?.Remove(key);
        }
        return FromJson(json);
    }

    private static NnConfig FromJson(JsonObject json)
    {
        foreach (var (key, _) in json)
            if (!TopLevelKeys.Contains(key))
                throw new InvalidInputException($"Unknown setting {key}; allowed keys: {string.Join(", ", TopLevelKeys)}.");

        var kind = new SettingsReader(json, "model config").Choice("model_type", "", "rnn", "transformer") switch
        {
            "rnn" => ModelKind.Rnn,
            "transformer" => ModelKind.Transformer,
            _ => throw new InvalidInputException("Setting model_type is required: \"rnn\" or \"transformer\"."),
        };
        var init = ReadGroup(json, InitGroup, reader => ModelInitParams.Read(kind, reader));
        var training = ReadGroup(json, TrainingGroup, TrainingParams.Read);
        var pipeline = ReadGroup(json, PipelineGroup, PipelineParams.Read);
        var space = ReadGrid(json, kind);
        try { Core.Evaluation.MetricNames.Validate(pipeline.GridSearchMetric, training.Task); }
        catch (InvalidInputException e) { throw new InvalidInputException($"Setting {PipelineGroup}.{e.Message}", e); }
        CheckSearch(pipeline, training, space);
        if (training.AuxiliaryNextTokenWeight > 0 && kind == ModelKind.Transformer)
            throw new InvalidInputException(
                $"Setting {TrainingGroup}.auxiliary_next_token_weight must be 0 for model_type \"transformer\": its per-step states see later events (not causal); it works with \"rnn\".");
        var config = new NnConfig(json, kind, init, training, pipeline, space);
        // A range's ends must be valid values of its setting, so a draw can never be refused halfway through a run.
        foreach (var range in space.Where(d => d is not SearchDimension.Choice))
            foreach (var end in range.ValuesToCheck())
            {
                try { config.WithSettings(new Dictionary<string, JsonNode>(StringComparer.Ordinal) { [range.Key] = end }); }
                catch (InvalidInputException e)
                {
                    throw new InvalidInputException($"Setting {GridGroup}.{range.Key}: the range's end {end.ToJsonString()} is not allowed: {e.Message}", e);
                }
            }
        return config;
    }

    /// <summary>The search settings against each other and the grid (each alone was checked by its reader).</summary>
    private static void CheckSearch(PipelineParams pipeline, TrainingParams training, IReadOnlyList<SearchDimension> space)
    {
        var ranges = space.Where(d => d is not SearchDimension.Choice).Select(d => d.Key).ToArray();
        switch (pipeline.Search)
        {
            case SearchKind.Grid when ranges.Length > 0:
                throw new InvalidInputException(
                    $"Setting {GridGroup}.{ranges[0]} is a range, which a grid cannot enumerate; set {PipelineGroup}.search to \"random\" or \"asha\" (with {PipelineGroup}.search_trials), or list the values.");
            case SearchKind.Random when pipeline.SearchTrials == 0:
            case SearchKind.Asha when pipeline.SearchTrials == 0 && ranges.Length > 0:
                throw new InvalidInputException(
                    $"Setting {PipelineGroup}.search_trials must be at least 1 for {PipelineGroup}.search \"{SearchKinds.Name(pipeline.Search)}\"{(ranges.Length > 0 ? " with ranges" : "")}: how many points to draw.");
        }
        if (pipeline.Search == SearchKind.Asha && pipeline.AshaMinEpochs >= training.NumEpochs)
            throw new InvalidInputException(
                $"Setting {PipelineGroup}.asha_min_epochs ({pipeline.AshaMinEpochs}) must be below {TrainingGroup}.num_epochs ({training.NumEpochs}): otherwise no rung comes before the end and no trial is stopped.");
    }

    private static T ReadGroup<T>(JsonObject json, string groupName, Func<SettingsReader, T> read)
    {
        var node = json[groupName] ?? new JsonObject();
        if (node is not JsonObject group) throw new InvalidInputException($"Setting {groupName} must be a JSON object.");
        var reader = new SettingsReader(group, groupName);
        var value = read(reader);
        reader.RejectUnknownKeys();
        return value;
    }

    private static List<SearchDimension> ReadGrid(JsonObject json, ModelKind kind)
    {
        var space = new List<SearchDimension>();
        if (json[GridGroup] is null) return space;
        if (json[GridGroup] is not JsonObject gridObject) throw new InvalidInputException($"Setting {GridGroup} must be a JSON object.");
        foreach (var (key, values) in gridObject)
        {
            if (GroupOf(kind, key) is null || key == "task")
                throw new InvalidInputException($"Unknown setting {GridGroup}.{key}; allowed keys: {string.Join(", ", TunableKeys(kind))}.");
            space.Add(SearchDimension.Parse(key, values, $"{GridGroup}.{key}"));
        }
        return space;
    }

    /// <summary>Which group a grid key belongs to (null: none). Found by asking each group's reader which keys it reads.</summary>
    private static string? GroupOf(ModelKind kind, string key)
    {
        if (KeysOf(r => ModelInitParams.Read(kind, r)).Contains(key)) return InitGroup;
        if (KeysOf(TrainingParams.Read).Contains(key)) return TrainingGroup;
        return null;
    }

    private static IEnumerable<string> TunableKeys(ModelKind kind) =>
        KeysOf(r => ModelInitParams.Read(kind, r)).Concat(KeysOf(TrainingParams.Read).Where(k => k != "task")).Order(StringComparer.Ordinal);

    private static IReadOnlySet<string> KeysOf<T>(Func<SettingsReader, T> read)
    {
        var reader = new SettingsReader([], "");
        read(reader);
        return reader.KnownKeys;
    }
}

/// <summary>Settings that shape a model (<c>model_init_params</c>).</summary>
public abstract record ModelInitParams
{
    /// <summary>Dropout probability (0 = none).</summary>
    public double DropoutRate { get; init; }
    /// <summary>Feed log(1 + seconds since the previous event) next to each event name.</summary>
    public bool UseTimeGaps { get; init; }
    /// <summary>Longer inputs keep their last events (also the transformer's positional-encoding length).</summary>
    public int MaxSequenceLength { get; init; }
    /// <summary>Feed the dataset's GA4 signals (prepare option <c>signals</c>): categorical ones as embeddings summed
    /// into each event's, numeric ones through a small projection, user fields added to every event. Off (the
    /// default): names and gaps only, exactly as before.</summary>
    public bool UseSignals { get; init; }
    /// <summary>none (the default: exactly the model as before) | trees: the gradient-boosted-trees baseline's
    /// per-example aggregates (counts per event name, length, gaps, signals…), log-scaled and standardized with the
    /// training split's mean and deviation (stored in the checkpoint), concatenated to the pooled state before the
    /// output layer.</summary>
    public AggregateFeatures AggregateFeatures { get; init; }
    /// <summary>Members of a seed ensemble: that many copies of the architecture, each initialised from the
    /// generator in turn (member 0 draws exactly the single model's weights), trained together on the same batches,
    /// their outputs averaged. 1 (the default): exactly the single model as before.</summary>
    public int EnsembleSize { get; init; } = 1;

    /// <summary>The largest <see cref="EnsembleSize"/>: each member costs a whole model's training and serving time.</summary>
    public const int MaxEnsembleSize = 8;

    internal static ModelInitParams Read(ModelKind kind, SettingsReader reader) =>
        kind == ModelKind.Rnn ? RnnInitParams.ReadRnn(reader) : TransformerInitParams.ReadTransformer(reader);

    private protected static (double Dropout, bool Gaps, int MaxLength) ReadCommon(SettingsReader reader) => (
        reader.Double("dropout_rate", 0.1, 0, 1, maxExclusive: true),
        reader.Bool("use_time_gaps", false),
        reader.Int("max_sequence_length", 500, 1, 100_000));

    private protected static int ReadEnsembleSize(SettingsReader reader) => reader.Int("ensemble_size", 1, 1, MaxEnsembleSize);

    private protected static AggregateFeatures ReadAggregateFeatures(SettingsReader reader) =>
        reader.Choice("aggregate_features", "none", "none", "trees") == "trees" ? AggregateFeatures.Trees : AggregateFeatures.None;
}

public sealed record RnnInitParams : ModelInitParams
{
    public static readonly string[] CellTypes = ["rnn", "gru", "lstm"];
    public static readonly string[] AttentionTypes = ["global", "self", "multi-head", "last"];

    /// <summary>rnn | gru | lstm.</summary>
    public string CellType { get; init; } = "gru";
    /// <summary>relu | tanh (the <c>rnn</c> cell only).</summary>
    public string Nonlinearity { get; init; } = "tanh";
    public int EmbeddingSize { get; init; } = 32;
    public int HiddenSize { get; init; } = 32;
    public int NumLayers { get; init; } = 1;
    /// <summary>global | self | multi-head | last.</summary>
    public string AttentionType { get; init; } = "global";
    /// <summary>Heads of <c>multi-head</c> attention.</summary>
    public int NumHeads { get; init; } = 1;
    /// <summary>Size of the tanh projection scored by <c>self</c>/<c>multi-head</c> attention.</summary>
    public int AttentionSize { get; init; } = 32;
    /// <summary>Feed log(1 + seconds since the input's first event) and log(1 + seconds until its last event) next to
    /// each event's gap (needs <see cref="ModelInitParams.UseTimeGaps"/>): where in the window an event falls, which a
    /// recurrent cell cannot sum from the gaps' logs (churn: how long the user stayed, and what they did near the end).</summary>
    public bool UseElapsedTime { get; init; }

    internal static RnnInitParams ReadRnn(SettingsReader reader)
    {
        var (dropout, gaps, maxLength) = ReadCommon(reader);
        var elapsed = reader.Bool("use_elapsed_time", false);
        if (elapsed && !gaps)
            throw new InvalidInputException("Setting model_init_params.use_elapsed_time needs model_init_params.use_time_gaps: the elapsed time is summed from the gaps.");
        return new RnnInitParams
        {
            UseElapsedTime = elapsed,
            DropoutRate = dropout,
            UseTimeGaps = gaps,
            MaxSequenceLength = maxLength,
            UseSignals = reader.Bool("use_signals", false),
            AggregateFeatures = ReadAggregateFeatures(reader),
            EnsembleSize = ReadEnsembleSize(reader),
            CellType = reader.Choice("cell_type", "gru", CellTypes),
            Nonlinearity = reader.Choice("nonlinearity", "tanh", "relu", "tanh"),
            EmbeddingSize = reader.Int("embedding_size", 32, 1, 4096),
            HiddenSize = reader.Int("hidden_size", 32, 1, 4096),
            NumLayers = reader.Int("num_layers", 1, 1, 16),
            AttentionType = reader.Choice("attention_type", "global", AttentionTypes),
            NumHeads = reader.Int("num_heads", 1, 1, 64),
            AttentionSize = reader.Int("attention_size", 32, 1, 4096),
        };
    }
}

public sealed record TransformerInitParams : ModelInitParams
{
    public int ModelSize { get; init; } = 32;
    public int NumLayers { get; init; } = 1;
    public int NumHeads { get; init; } = 2;
    public int DimFeedforward { get; init; } = 64;
    /// <summary>Uniform range for the embedding and output-layer weights.</summary>
    public (double Low, double High) WeightsInitRange { get; init; } = (-0.1, 0.1);
    /// <summary>last (the last real event's state, as the original) | mean (over real events).</summary>
    public string Pooling { get; init; } = "last";

    internal static TransformerInitParams ReadTransformer(SettingsReader reader)
    {
        var (dropout, gaps, maxLength) = ReadCommon(reader);
        var result = new TransformerInitParams
        {
            DropoutRate = dropout,
            UseTimeGaps = gaps,
            MaxSequenceLength = maxLength,
            UseSignals = reader.Bool("use_signals", false),
            AggregateFeatures = ReadAggregateFeatures(reader),
            EnsembleSize = ReadEnsembleSize(reader),
            ModelSize = reader.Int("model_size", 32, 2, 4096),
            NumLayers = reader.Int("num_layers", 1, 1, 32),
            NumHeads = reader.Int("num_heads", 2, 1, 64),
            DimFeedforward = reader.Int("dim_feedforward", 64, 1, 16384),
            WeightsInitRange = reader.Range("weights_init_range", (-0.1, 0.1)),
            Pooling = reader.Choice("pooling", "last", "last", "mean"),
        };
        if (result.ModelSize % result.NumHeads != 0)
            throw new InvalidInputException(
                $"Setting model_init_params.model_size ({result.ModelSize}) must be a multiple of model_init_params.num_heads ({result.NumHeads}).");
        if (result.ModelSize % 2 != 0)
            throw new InvalidInputException($"Setting model_init_params.model_size must be even (sinusoidal positions), not {result.ModelSize}.");
        return result;
    }
}

/// <summary>How a model is trained (<c>model_training_params</c>).</summary>
public sealed record TrainingParams
{
    public PredictionTask Task { get; init; } = PredictionTask.Events;
    /// <summary>cpu | cuda | auto (cuda when available).</summary>
    public string Device { get; init; } = "auto";
    public int NumEpochs { get; init; } = 10;
    public int BatchSize { get; init; } = 32;
    /// <summary>adam | adamw.</summary>
    public string Optimizer { get; init; } = "adamw";
    public double LearningRate { get; init; } = 0.001;
    /// <summary>The optimizer's own weight decay (decoupled for adamw).</summary>
    public double WeightDecay { get; init; }
    /// <summary>none | L1 | L2: a penalty reg_lambda × Σ|w| (L1) or reg_lambda × Σw² (L2) added to the loss.</summary>
    public string RegType { get; init; } = "none";
    public double RegLambda { get; init; }
    /// <summary>Largest gradient L2 norm per step (0 = no clipping).</summary>
    public double GradientClipNorm { get; init; } = 1.0;
    /// <summary>none | balanced (inverse label frequency in the training split).</summary>
    public string ClassWeights { get; init; } = "none";
    public int Seed { get; init; } = 42;
    /// <summary>Intra-op threads per trial (0 = the cores divided among parallel trials).</summary>
    public int NumThreads { get; init; }
    /// <summary>Weight of an auxiliary next-token loss added to the task's (rnn only): every step of the input also
    /// predicts the event after it (the last step, for next event, the label), language-model style, from the RNN's
    /// causal per-step states through a head used in training only. 0 (the default): exactly the task's loss alone.</summary>
    public double AuxiliaryNextTokenWeight { get; init; }
    /// <summary>separate (default) | shared: see <see cref="Configuration.AuxiliaryNextTokenHead"/>.</summary>
    public AuxiliaryNextTokenHead AuxiliaryNextTokenHead { get; init; }

    internal static TrainingParams Read(SettingsReader reader) => new()
    {
        Task = reader.Choice("task", "events", "events", "churn") == "churn" ? PredictionTask.Churn : PredictionTask.Events,
        Device = reader.Choice("device", "auto", "cpu", "cuda", "auto"),
        NumEpochs = reader.Int("num_epochs", 10, 1, 100_000),
        BatchSize = reader.Int("batch_size", 32, 1, 65_536),
        Optimizer = reader.Choice("optimizer", "adamw", "adam", "adamw"),
        LearningRate = reader.Double("learning_rate", 0.001, 0, 10, minExclusive: true),
        WeightDecay = reader.Double("weight_decay", 0, 0, 10),
        RegType = reader.Choice("reg_type", "none", "none", "L1", "L2"),
        RegLambda = reader.Double("reg_lambda", 0, 0, 1000),
        GradientClipNorm = reader.Double("gradient_clip_norm", 1.0, 0, 1e6),
        ClassWeights = reader.Choice("class_weights", "none", "none", "balanced"),
        Seed = reader.Int("seed", 42, 0),
        NumThreads = reader.Int("num_threads", 0, 0, 1024),
        AuxiliaryNextTokenWeight = reader.Double("auxiliary_next_token_weight", 0, 0, 100),
        AuxiliaryNextTokenHead = reader.Choice("auxiliary_next_token_head", "separate", "separate", "shared") == "shared"
            ? AuxiliaryNextTokenHead.Shared : AuxiliaryNextTokenHead.Separate,
    };
}

/// <summary>What happens around training (<c>pipeline_params</c>).</summary>
public sealed record PipelineParams
{
    /// <summary>Every name <c>grid_search_metric</c> may take: the evaluation's metric names (Core's
    /// <see cref="Core.Evaluation.MetricNames"/>, the one source of truth) of either task. Which of them fit the
    /// config's task is checked once the task is known.</summary>
    public static readonly string[] MetricNames =
        Core.Evaluation.MetricNames.For(PredictionTask.Events).Union(Core.Evaluation.MetricNames.For(PredictionTask.Churn)).ToArray();

    /// <summary>Epochs without validation improvement before stopping (0 = never stop early).</summary>
    public int EarlyStoppingPatience { get; init; } = 3;
    public string GridSearchMetric { get; init; } = "accuracy";
    /// <summary>Churn probability at or above which a user is predicted to churn.</summary>
    public double ProbThreshold { get; init; } = 0.5;
    public bool ReturnChurnProb { get; init; } = true;
    public bool SaveAttentionWeights { get; init; } = true;
    /// <summary>Cumulative attention a sequence's key events must reach in the attention analysis.</summary>
    public double AttentionThreshold { get; init; } = 0.8;
    public bool ShuffleTrain { get; init; } = true;
    /// <summary>Trials trained at once (0 = one per core).</summary>
    public int MaxParallelTrials { get; init; }
    /// <summary>grid | random | asha: how the trials of <c>grid_search_params</c> are chosen.</summary>
    public SearchKind Search { get; init; } = SearchKind.Grid;
    /// <summary>Points drawn by random and asha search (0: asha walks the full grid; random needs ≥ 1).</summary>
    public int SearchTrials { get; init; }
    /// <summary>Seed of the draws (null: <c>model_training_params.seed</c>); the same seed draws the same trials.</summary>
    public int? SearchSeed { get; init; }
    /// <summary>asha: the first rung's epoch; the rungs are asha_min_epochs·η^k below num_epochs.</summary>
    public int AshaMinEpochs { get; init; } = 1;
    /// <summary>asha: η, a trial goes past a rung only when it is in the top 1/η of the trials that reached it.</summary>
    public int AshaReductionFactor { get; init; } = 3;
    /// <summary>users | recent | mean: which validation split's score early stopping, asha and the choice of trial use.</summary>
    public ValidationSelection ValidationSelection { get; init; } = ValidationSelection.Mean;
    /// <summary>none (default: the sequence model alone, exactly as before) | blend: the checkpoint also holds the
    /// gradient-boosted trees and serves w·(model) + (1 − w)·(trees) on the logit / log-probability scale, w chosen on
    /// the validation split by <c>grid_search_metric</c>.</summary>
    public TreesCombination CombineWithTrees { get; init; } = TreesCombination.None;
    /// <summary>Churn: how the kept model's probabilities are calibrated on the validation split(s) of
    /// <see cref="ChurnCalibrationData"/> (stored in the
    /// checkpoint; the API, batch scoring and the test evaluation apply it).</summary>
    public CalibrationMethod ChurnCalibration { get; init; } = CalibrationMethod.Auto;
    /// <summary>Churn: which splits the calibration (and <c>auto</c>'s choice of method) is fitted on: <c>val</c> or
    /// <c>val_and_recent</c> (validation ∪ val_recent, the default: the last day is closest to test).</summary>
    public CalibrationData ChurnCalibrationData { get; init; } = CalibrationData.ValidationAndRecent;

    internal static PipelineParams Read(SettingsReader reader) => new()
    {
        EarlyStoppingPatience = reader.Int("early_stopping_patience", 3, 0),
        GridSearchMetric = reader.Choice("grid_search_metric", "accuracy", MetricNames),
        ProbThreshold = reader.Double("prob_threshold", 0.5, 0, 1, minExclusive: true, maxExclusive: true),
        ReturnChurnProb = reader.Bool("return_churn_prob", true),
        SaveAttentionWeights = reader.Bool("save_attention_weights", true),
        AttentionThreshold = reader.Double("attention_threshold", 0.8, 0, 1, minExclusive: true),
        ShuffleTrain = reader.Bool("shuffle_train", true),
        MaxParallelTrials = reader.Int("max_parallel_trials", 0, 0, 1024),
        Search = SearchKinds.Parse(reader.Choice("search", "grid", SearchKinds.Names)),
        SearchTrials = reader.Int("search_trials", 0, 0, ModelGrid.MaxTrials),
        SearchSeed = reader.Has("search_seed") ? reader.Int("search_seed", 0, 0) : null,
        AshaMinEpochs = reader.Int("asha_min_epochs", 1, 1, 100_000),
        AshaReductionFactor = reader.Int("asha_reduction_factor", 3, 2, 100),
        ValidationSelection = ValidationSelections.Parse(reader.Choice("validation_selection", "mean", ValidationSelections.Names)),
        CombineWithTrees = reader.Choice("combine_with_trees", "none", "none", "blend") == "blend" ? TreesCombination.Blend : TreesCombination.None,
        ChurnCalibration = CalibrationMethods.Parse(reader.Choice("churn_calibration", "auto", CalibrationMethods.Names)),
        ChurnCalibrationData = CalibrationDatas.Parse(reader.Choice("churn_calibration_data", "val_and_recent", CalibrationDatas.Names)),
    };
}
