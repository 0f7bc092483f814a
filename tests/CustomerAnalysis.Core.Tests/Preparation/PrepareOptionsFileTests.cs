using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Preparation;

public class PrepareOptionsFileTests
{
    [Fact]
    public void The_shipped_config_holds_the_defaults()
    {
        var path = Path.Combine(RepositoryRoot(), "config", "prepare.json");

        Assert.Equal(PrepareOptions.Default, PrepareOptionsFile.Load(path));
    }

    [Fact]
    public void Keys_left_out_keep_their_defaults_and_comments_are_allowed()
    {
        var options = PrepareOptionsFile.Parse("""
            {
              // Google's notebook
              "engagement_events": "user_engagement",
              "split": { "train": 0.8, "val": 0.1, "test": 0.1 },
              "split_mode": "row",
            }
            """, "test.json");

        Assert.Equal(PrepareOptions.Default with
        {
            EngagementEvents = EngagementEvents.UserEngagement,
            Split = new SplitRatios(0.8, 0.1, 0.1),
            SplitMode = SplitMode.Row,
        }, options);
    }

    [Theory]
    [InlineData("""{ "max_len": 3 }""", "\"max_len\"", "max_sequence_length")]
    [InlineData("""{ "split": { "train": 0.7, "validation": 0.15, "test": 0.15 } }""", "split.validation", "train, val, test")]
    [InlineData("""{ "max_sequence_length": "500" }""", "max_sequence_length", "whole number")]
    [InlineData("""{ "max_sequence_length": 2.5 }""", "max_sequence_length", "whole number")]
    [InlineData("""{ "censor_recent_users": "yes" }""", "censor_recent_users", "true or false")]
    [InlineData("""{ "churn_horizon_hours": null }""", "churn_horizon_hours", "number")]
    [InlineData("""{ "split_mode": "users" }""", "split_mode", "user, row")]
    [InlineData("""{ "engagement_events": "All" }""", "engagement_events", "all, user_engagement")]
    [InlineData("""{ "bounced_users": 1 }""", "bounced_users", "exclude, not_churned")]
    [InlineData("""{ "churn_window": "leaky" }""", "churn_window", "horizon, all")]
    [InlineData("""{ "split": { "train": 0.7, "val": 0.2, "test": 0.2 } }""", "\"split\"", "sum to 1")]
    [InlineData("""{ "split": { "train": 1.2, "val": -0.1, "test": -0.1 } }""", "split.train", "between 0 and 1")]
    [InlineData("""{ "split": { "train": 0.7, "val": -0.15, "test": 0.45 } }""", "split.val", "between 0 and 1")]
    [InlineData("""{ "split": { "train": 0, "val": 0.5, "test": 0.5 } }""", "split.train", "> 0")]
    [InlineData("""{ "split": { "train": 1 } }""", "\"split\"", "train, val and test")]
    [InlineData("""{ "churn_horizon_hours": 0 }""", "churn_horizon_hours", "> 0")]
    [InlineData("""{ "churn_horizon_hours": 1, "bounce_minutes": 60 }""", "bounce_minutes", "less than churn_horizon_hours")]
    [InlineData("""{ "bounce_minutes": -1 }""", "bounce_minutes", ">= 0")]
    [InlineData("""{ "max_sequence_length": 1 }""", "max_sequence_length", ">= 2")]
    [InlineData("""{ "holdout_days": -1 }""", "holdout_days", "from 0 (none) to 3660")]
    [InlineData("""{ "holdout_days": 4000 }""", "holdout_days", "from 0 (none) to 3660")]
    [InlineData("""{ "holdout_days": "1" }""", "holdout_days", "must be a number")]
    [InlineData("""{ "signals": "page_titel" }""", "page_titel", "page_title")]
    [InlineData("""{ "signal_dropout": 1 }""", "signal_dropout", "from 0 to 0.9")]
    [InlineData("""{ "signal_dropout": -0.1 }""", "signal_dropout", "from 0 to 0.9")]
    [InlineData("""{ "signal_dropout": "0.3" }""", "signal_dropout", "must be a number")]
    [InlineData("""{ "seed": 1, "seed": 2 }""", "\"seed\"", "twice")]
    [InlineData("""[ 1 ]""", "test.json", "JSON object")]
    [InlineData("""{ "seed": """, "test.json", "not valid JSON")]
    public void Invalid_options_name_the_key_and_what_is_allowed(string json, string key, string allowed)
    {
        var error = Assert.Throws<InvalidInputException>(() => PrepareOptionsFile.Parse(json, "test.json"));

        Assert.StartsWith("test.json", error.Message);
        Assert.Contains(key, error.Message);
        Assert.Contains(allowed, error.Message);
    }

    [Fact]
    public void A_missing_file_is_invalid_input_naming_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.json");

        var error = Assert.Throws<InvalidInputException>(() => PrepareOptionsFile.Load(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Options_built_in_code_are_validated_too()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            PrepareOptionsFile.Validate(PrepareOptions.Default with { SplitMode = (SplitMode)9 }));

        Assert.Contains("split_mode", error.Message);
    }

    private static string RepositoryRoot() => TestRepository.Root;
}
