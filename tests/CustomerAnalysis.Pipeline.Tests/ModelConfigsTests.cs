using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests;

public sealed class ModelConfigsTests
{
    private static readonly PipelineConfig Pipeline = PipelineConfig.Load(Path.Combine(AzuriteFixture.RepoRoot, "config", "pipeline.json"));

    [Fact]
    public void The_run_carries_the_model_config_file_with_overrides_and_the_requested_task()
    {
        var input = ModelConfigs.Resolve(Pipeline, new TrainingRequest("data", PredictionTask.Churn, Model: "rnn",
            Settings: new JsonObject
            {
                ["model_training_params.num_epochs"] = 2,
                ["pipeline_params"] = new JsonObject { ["grid_search_metric"] = "roc_auc", ["prob_threshold"] = 0.3 },
            },
            Grid: new JsonObject { ["learning_rate"] = new JsonArray(0.001, 0.002, 0.003) }));

        var config = NnConfig.Parse(input.ModelConfig);
        Assert.Equal("churn", input.ModelName); // the task's registry name from pipeline.json
        Assert.Equal(PredictionTask.Churn, config.Training.Task); // forced from the request (rnn.json says events)
        Assert.Equal(2, config.Training.NumEpochs);
        Assert.Equal(0.3, config.Pipeline.ProbThreshold);
        Assert.Equal(16, ((RnnInitParams)config.Init).EmbeddingSize); // untouched settings come from config/nn/rnn.json

        var plan = TrainingPlan.From(input);
        Assert.Equal("roc_auc", plan.Metric);
        Assert.True(Core.Evaluation.MetricNames.HigherIsBetter(plan.Metric));
        Assert.Equal(["t000", "t001", "t002"], plan.Trials.Select(t => t.TrialId));
        Assert.Equal([0.001, 0.002, 0.003], plan.Trials.Select(t => t.Params["learning_rate"].GetDouble()));
        Assert.Equal([42, 43, 44], plan.Trials.Select(t => t.Seed)); // Modeling's seeds: config seed + grid index
    }

    [Fact]
    public void A_random_search_over_ranges_plans_its_drawn_trials_the_same_on_every_resolve()
    {
        var request = new TrainingRequest("data", PredictionTask.Events, Model: "rnn",
            Settings: new JsonObject { ["pipeline_params"] = new JsonObject { ["search"] = "asha", ["search_trials"] = 6, ["search_seed"] = 3 } },
            Grid: new JsonObject
            {
                ["learning_rate"] = new JsonObject { ["log_uniform"] = new JsonArray(0.0005, 0.02) },
                ["hidden_size"] = new JsonObject { ["choice"] = new JsonArray(16, 32, 64) },
            });
        var first = TrainingPlan.From(ModelConfigs.Resolve(Pipeline, request));
        var again = TrainingPlan.From(ModelConfigs.Resolve(Pipeline, request));
        Assert.Equal(6, first.Trials.Count);
        Assert.Equal(first.Trials.Select(t => t.Params["learning_rate"].GetDouble()), again.Trials.Select(t => t.Params["learning_rate"].GetDouble()));
        Assert.All(first.Trials, t => Assert.InRange(t.Params["learning_rate"].GetDouble(), 0.0005, 0.02));
        Assert.All(first.Trials, t => Assert.Contains(t.Params["hidden_size"].GetInt32(), new[] { 16, 32, 64 }));
        Assert.Equal(Enumerable.Range(42, 6), first.Trials.Select(t => t.Seed));
    }

    [Fact]
    public void Each_task_trains_with_its_signals_from_the_pipeline_config_and_a_run_can_replace_them()
    {
        // Shipped: next events read the recommended GA4 signals, with a share of training examples without them;
        // churn stays on names and times.
        var events = ModelConfigs.Resolve(Pipeline, new TrainingRequest("data", PredictionTask.Events));
        Assert.Equal(Core.Events.Signals.ParseList("recommended"), events.PrepareOptions.Signals);
        Assert.Equal(0.3, events.PrepareOptions.SignalDropout);
        Assert.True(NnConfig.Parse(events.ModelConfig).Init.UseSignals);
        var churn = ModelConfigs.Resolve(Pipeline, new TrainingRequest("data", PredictionTask.Churn));
        Assert.Equal(PrepareOptions.Default, churn.PrepareOptions);

        // A run's overrides.prepare replaces only the keys it sets.
        var replaced = ModelConfigs.Resolve(Pipeline, new TrainingRequest("data", PredictionTask.Events, Model: "rnn-real",
            Prepare: new JsonObject { ["signals"] = "country,page_title", ["seed"] = 3 }));
        Assert.Equal(Core.Events.Signals.ParseList("country,page_title"), replaced.PrepareOptions.Signals);
        Assert.Equal(0.3, replaced.PrepareOptions.SignalDropout);
        Assert.Equal(3, replaced.PrepareOptions.Seed);
        var namesOnly = ModelConfigs.Resolve(Pipeline, new TrainingRequest("data", PredictionTask.Events, Model: "rnn-real",
            Prepare: new JsonObject { ["signals"] = new JsonArray() }));
        Assert.True(namesOnly.PrepareOptions.SignalSet.IsEmpty);
        // The signals model without signals is refused at submit, naming the setting.
        var refused = Assert.Throws<Core.InvalidInputException>(() => ModelConfigs.Resolve(Pipeline,
            new TrainingRequest("data", PredictionTask.Events, Prepare: new JsonObject { ["signals"] = "none" })));
        Assert.Contains("use_signals", refused.Message, StringComparison.Ordinal);
        Assert.Contains("rnn-signals", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_overrides_are_validated_like_the_prepare_options_file()
    {
        var input = ModelConfigs.Resolve(Pipeline, new TrainingRequest("data", PredictionTask.Events,
            Prepare: new JsonObject { ["seed"] = 7, ["split_mode"] = "row" }));
        Assert.Equal(7, input.PrepareOptions.Seed);
        Assert.Equal(SplitMode.Row, input.PrepareOptions.SplitMode);

        var unknown = Assert.Throws<Core.InvalidInputException>(() => ModelConfigs.Resolve(Pipeline,
            new TrainingRequest("data", PredictionTask.Events, Prepare: new JsonObject { ["sede"] = 7 })));
        Assert.Contains("overrides.prepare", unknown.Message);
        Assert.Contains("sede", unknown.Message);
        var wrongType = Assert.Throws<Core.InvalidInputException>(() => ModelConfigs.Resolve(Pipeline,
            new TrainingRequest("data", PredictionTask.Events, Prepare: new JsonObject { ["seed"] = "seven" })));
        Assert.Contains("seed", wrongType.Message);
    }

    [Fact]
    public void The_pipeline_config_resolves_paths_from_the_repository_root_and_never_trains_on_shared_data_by_default()
    {
        Assert.Equal(Path.Combine(AzuriteFixture.RepoRoot, "config", "nn"), Pipeline.ModelConfigDirectory);
        Assert.Equal(Path.Combine(AzuriteFixture.RepoRoot, ".data", "default"), Pipeline.Retraining.Source);
        Assert.Equal(["rnn", "rnn-churn", "rnn-real", "rnn-signals", "transformer"], ModelConfigs.Available(Pipeline));
    }
}
