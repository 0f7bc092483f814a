using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;

namespace CustomerAnalysis.Core.Tests.Configuration;

public class SearchSpaceTests
{
    private const string RandomConfig = """
        {"model_type": "rnn",
         "model_training_params": {"seed": 5},
         "pipeline_params": {"search": "random", "search_trials": 20, "search_seed": 11},
         "grid_search_params": {
           "learning_rate": {"log_uniform": [0.0001, 0.01]},
           "dropout_rate": {"uniform": [0.0, 0.3]},
           "num_layers": {"int_uniform": [1, 3]},
           "hidden_size": {"choice": [16, 32, 64]},
           "cell_type": ["gru", "lstm"]}}
        """;

    [Fact]
    public void Random_search_draws_search_trials_points_inside_the_ranges()
    {
        var trials = ModelGrid.Expand(NnConfig.Parse(RandomConfig));
        Assert.Equal(20, trials.Count);
        Assert.Equal(Enumerable.Range(0, 20), trials.Select(t => t.Index));
        Assert.Equal(Enumerable.Range(5, 20), trials.Select(t => t.Seed));
        foreach (var trial in trials)
        {
            var init = (RnnInitParams)trial.Config.Init;
            Assert.InRange(trial.Config.Training.LearningRate, 0.0001, 0.01);
            Assert.InRange(init.DropoutRate, 0.0, 0.3);
            Assert.InRange(init.NumLayers, 1, 3);
            Assert.Contains(init.HiddenSize, new[] { 16, 32, 64 });
            Assert.Contains(init.CellType, new[] { "gru", "lstm" });
            Assert.Equal(5, trial.Settings.Count);
            Assert.Empty(trial.Config.Space);
        }
        // Spread: a log-uniform draw over two decades puts points in each; every int and choice value comes up.
        var rates = trials.Select(t => t.Config.Training.LearningRate).ToArray();
        Assert.Contains(rates, r => r < 0.001);
        Assert.Contains(rates, r => r > 0.001);
        Assert.Equal(3, trials.Select(t => ((RnnInitParams)t.Config.Init).NumLayers).Distinct().Count());
        Assert.Equal(20, trials.Select(t => string.Join(",", t.Settings.Select(s => s.Value.ToJsonString()))).Distinct().Count());
    }

    [Fact]
    public void The_same_seed_draws_the_same_trials_and_another_seed_others()
    {
        static string[] Points(string json) => ModelGrid.Expand(NnConfig.Parse(json))
            .Select(t => string.Join(",", t.Settings.Select(s => $"{s.Key}={s.Value.ToJsonString()}"))).ToArray();
        var first = Points(RandomConfig);
        Assert.Equal(first, Points(RandomConfig));
        // Pinned: the draws are this code's own generator, so a runtime upgrade cannot change a search silently.
        Assert.Equal("learning_rate=0.000429,dropout_rate=0.07871,num_layers=2,hidden_size=32,cell_type=\"gru\"", first[0]);
        Assert.NotEqual(first, Points(RandomConfig.Replace("\"search_seed\": 11", "\"search_seed\": 12")));
        // Without search_seed the training seed is the search's.
        Assert.Equal(Points(RandomConfig.Replace("\"search_seed\": 11", "\"search_seed\": 5")),
            Points(RandomConfig.Replace(", \"search_seed\": 11", "")));
    }

    [Fact]
    public void Drawn_values_are_rounded_to_four_significant_digits()
    {
        foreach (var trial in ModelGrid.Expand(NnConfig.Parse(RandomConfig)))
        {
            var text = trial.Settings["learning_rate"].ToJsonString();
            Assert.True(text.TrimStart('0', '.').Replace("E-", "").Length <= 6, text);
        }
    }

    [Fact]
    public void A_small_discrete_space_is_drawn_without_repeats_until_it_is_used_up()
    {
        var config = NnConfig.Parse("""
            {"model_type": "rnn", "pipeline_params": {"search": "random", "search_trials": 4},
             "grid_search_params": {"hidden_size": [8, 16], "cell_type": ["gru", "lstm"]}}
            """);
        var points = ModelGrid.Expand(config).Select(t => $"{t.Settings["hidden_size"]}/{t.Settings["cell_type"]}").ToArray();
        Assert.Equal(4, points.Distinct().Count());
    }

    [Fact]
    public void Asha_without_search_trials_walks_the_full_grid_in_grid_order()
    {
        var config = NnConfig.Parse("""
            {"model_type": "rnn", "model_training_params": {"num_epochs": 9},
             "pipeline_params": {"search": "asha", "asha_min_epochs": 1, "asha_reduction_factor": 3},
             "grid_search_params": {"hidden_size": [8, 16], "learning_rate": [0.01, 0.001]}}
            """);
        Assert.Equal(SearchKind.Asha, config.Pipeline.Search);
        var trials = ModelGrid.Expand(config);
        Assert.Equal(["8/0.01", "8/0.001", "16/0.01", "16/0.001"],
            trials.Select(t => $"{t.Settings["hidden_size"]}/{t.Settings["learning_rate"]}"));
    }

    [Theory]
    [InlineData("""{"grid_search_params": {"learning_rate": {"log_uniform": [0.0001, 0.01]}}}""", "grid_search_params.learning_rate", "\"random\"")]
    [InlineData("""{"pipeline_params": {"search": "random"}, "grid_search_params": {"hidden_size": [8]}}""", "pipeline_params.search_trials", "at least 1")]
    [InlineData("""{"pipeline_params": {"search": "bayes"}}""", "pipeline_params.search", "\"asha\"")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rate": {"log_uniform": [0, 0.01]}}}""", "grid_search_params.learning_rate.log_uniform", "low > 0")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rate": {"uniform": [0.01, 0.001]}}}""", "grid_search_params.learning_rate.uniform", "low < high")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rate": {"uniform": [0.01]}}}""", "grid_search_params.learning_rate.uniform", "pair")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"num_layers": {"int_uniform": [1, 2.5]}}}""", "grid_search_params.num_layers.int_uniform", "integers")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rate": {"normal": [0.01, 0.1]}}}""", "grid_search_params.learning_rate.normal", "\"log_uniform\"")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rate": {"uniform": [0, 1], "choice": [1]}}}""", "grid_search_params.learning_rate", "one of")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rate": 0.1}}""", "grid_search_params.learning_rate", "non-empty array")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"learning_rat": {"uniform": [0, 1]}}}""", "grid_search_params.learning_rat", "learning_rate")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"dropout_rate": {"uniform": [0.5, 1.0]}}}""", "grid_search_params.dropout_rate", "< 1")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"hidden_size": {"int_uniform": [0, 8]}}}""", "grid_search_params.hidden_size", "from 1")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 3}, "grid_search_params": {"hidden_size": {"choice": []}}}""", "grid_search_params.hidden_size.choice", "non-empty")]
    [InlineData("""{"pipeline_params": {"search": "random", "search_trials": 1001}}""", "pipeline_params.search_trials", "to 1000")]
    [InlineData("""{"model_training_params": {"num_epochs": 4}, "pipeline_params": {"search": "asha", "asha_min_epochs": 4}, "grid_search_params": {"hidden_size": [8, 16]}}""", "pipeline_params.asha_min_epochs", "num_epochs")]
    [InlineData("""{"pipeline_params": {"search": "asha", "asha_reduction_factor": 1}}""", "pipeline_params.asha_reduction_factor", "from 2")]
    public void Bad_search_settings_are_errors_naming_the_key(string groups, string key, string hint)
    {
        var json = JsonNode.Parse(groups)!.AsObject();
        json["model_type"] = "rnn";
        var error = Assert.Throws<InvalidInputException>(() => NnConfig.Parse(json.ToJsonString()));
        Assert.Contains(key, error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Fact]
    public void A_grid_with_more_combinations_than_allowed_is_refused_but_random_search_over_it_is_not()
    {
        var values = new JsonArray(Enumerable.Range(1, 40).Select(i => (JsonNode)JsonValue.Create(i)).ToArray());
        var grid = new JsonObject { ["hidden_size"] = values.DeepClone(), ["embedding_size"] = values.DeepClone() };
        var json = new JsonObject { ["model_type"] = "rnn", [NnConfig.GridGroup] = grid };
        var error = Assert.Throws<InvalidInputException>(() => ModelGrid.Expand(NnConfig.Parse(json.ToJsonString())));
        Assert.Contains("more than 1000", error.Message);
        json[NnConfig.PipelineGroup] = new JsonObject { ["search"] = "random", ["search_trials"] = 7 };
        Assert.Equal(7, ModelGrid.Expand(NnConfig.Parse(json.ToJsonString())).Count);
    }
}
