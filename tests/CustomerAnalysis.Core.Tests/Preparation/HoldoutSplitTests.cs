using System.Text.Json;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using static CustomerAnalysis.Core.Tests.Preparation.TestEvents;

namespace CustomerAnalysis.Core.Tests.Preparation;

/// <summary>The prepare option <c>holdout_days</c>: the last days' examples of training and validation users form the
/// val_recent split, never trained on; test keeps its users' examples of every day.</summary>
public sealed class HoldoutSplitTests : IDisposable
{
    private const long Day = 86_400;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"ca-holdout-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Each user has one 3-event session per day for <paramref name="days"/> days, at 10:00 + user minutes.</summary>
    private static TestEvents DailySessions(int users, int days, string lastDayName = "page_view", UserShard? shard = null)
    {
        var events = new TestEvents();
        for (var u = 0; u < users; u++)
            for (var d = 0; d < days && (shard is null || shard.Value.Owns($"u{u}")); d++)
            {
                var at = Hours(24 * d + 10) + Minutes(u);
                events.Add($"u{u}", d + 1, at, "session_start")
                    .Add($"u{u}", d + 1, at + Seconds(5), d == days - 1 ? lastDayName : "page_view")
                    .Add($"u{u}", d + 1, at + Seconds(9), "scroll");
            }
        return events;
    }

    [Fact]
    public void The_last_days_examples_of_train_and_validation_users_go_to_val_recent_and_test_is_unchanged()
    {
        var table = DailySessions(users: 60, days: 9).Build();
        var without = DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default with { HoldoutDays = 0 }, "default");
        var with = DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default with { HoldoutDays = 1 }, "default");

        // The end of the data is day 9's last event; its sessions (the last input event at 10:00:05 + u min) are the
        // ones within a day of it.
        var end = (Start + Hours(24 * 8 + 10) + Minutes(59) + Seconds(9)) / 1_000_000;
        var from = end - Day;
        Assert.Equal(from, with.Summary.ValidationRecentFrom);
        Assert.All(with.ValidationRecent, e => Assert.True(e.Time >= from));
        Assert.All(with.Train.Concat(with.Validation), e => Assert.True(e.Time < from, $"{e.Id} at {e.Time} is not before {from}"));

        // Exactly the recent examples of the users that were in train or validation, in their split order.
        var trainAndValidationUsers = without.Train.Concat(without.Validation).Select(e => e.User).ToHashSet();
        var expectedRecent = without.Train.Concat(without.Validation).Where(e => e.Time >= from).Select(e => e.Id).ToArray();
        Assert.NotEmpty(expectedRecent);
        Assert.Equal(expectedRecent, with.ValidationRecent.Select(e => e.Id));
        Assert.All(with.ValidationRecent, e => Assert.Contains(e.User, trainAndValidationUsers));
        Assert.Equal(without.Train.Where(e => e.Time < from).Select(e => e.Id), with.Train.Select(e => e.Id));
        Assert.Equal(without.Validation.Where(e => e.Time < from).Select(e => e.Id), with.Validation.Select(e => e.Id));

        // Test: the same users' sessions of every day, the last one included.
        Assert.Equal(without.Test.Select(e => e.Id), with.Test.Select(e => e.Id));
        Assert.Contains(with.Test, e => e.Time >= from);
        Assert.Equal(new SplitSizes(with.Train.Count, with.Validation.Count, with.Test.Count) { ValidationRecent = expectedRecent.Length },
            with.Summary.Splits);
        // One session per user and day: the recent split holds day 9 of the 51 or so non-test users.
        Assert.Equal(trainAndValidationUsers.Count, with.ValidationRecent.Count);
    }

    [Fact]
    public void A_name_seen_only_in_the_last_days_is_not_in_the_vocabulary()
    {
        var table = DailySessions(users: 40, days: 9, lastDayName: "new_event").Build();

        var dataset = DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default with { HoldoutDays = 1 }, "default");

        // The vocabulary (and any signal encoding) is fitted on the training split only, which no longer holds day 9.
        Assert.DoesNotContain("new_event", dataset.Vocabulary.Tokens);
        Assert.Contains(dataset.ValidationRecent, e => e.Tokens.Contains(Vocabulary.Unk));
    }

    [Fact]
    public void Churn_examples_are_timed_at_the_end_of_their_input_window()
    {
        var events = new TestEvents();
        for (var u = 0; u < 80; u++)
        {
            var first = Hours(24 * (u % 9)) + Minutes(u);
            events.Add($"u{u}", 1, first, "session_start").Add($"u{u}", 1, first + Minutes(20), "page_view");
            // Half return after the horizon (its events are not input under the horizon window).
            if (u % 2 == 0) events.Add($"u{u}", 2, first + Hours(30), "page_view");
        }
        events.Add("late", 1, Hours(24 * 9 + 12), "page_view");

        var dataset = DatasetPreparer.Prepare(events.Build(), PredictionTask.Churn, PrepareOptions.Default with { HoldoutDays = 1 }, "default");

        var all = All(dataset).ToArray();
        Assert.NotEmpty(dataset.ValidationRecent);
        foreach (var example in all)
        {
            var u = int.Parse(example.User[1..]);
            var first = (Start + Hours(24 * (u % 9)) + Minutes(u)) / 1_000_000;
            Assert.Equal(first + 24 * 3600, example.Time);
        }
        var from = dataset.Summary.ValidationRecentFrom!.Value;
        Assert.All(dataset.Train.Concat(dataset.Validation), e => Assert.True(e.Time < from));
        Assert.All(dataset.ValidationRecent, e => Assert.True(e.Time >= from));
        Assert.DoesNotContain(dataset.ValidationRecent, e => dataset.Test.Any(t => t.User == e.User));
    }

    [Fact]
    public void Data_spanning_no_more_than_three_holdouts_keeps_every_example_in_the_user_splits()
    {
        var table = DailySessions(users: 30, days: 3).Build();

        var dataset = DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default, "default");

        Assert.Equal(PrepareOptions.DefaultHoldoutDays, dataset.Options.HoldoutDays);
        Assert.Empty(dataset.ValidationRecent);
        Assert.Null(dataset.Summary.ValidationRecentFrom);
        Assert.Equal(90, dataset.Train.Count + dataset.Validation.Count + dataset.Test.Count);
    }

    [Fact]
    public void The_original_protocol_has_no_holdout()
    {
        var table = DailySessions(users: 30, days: 9).Build();

        var dataset = DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default with { HoldoutDays = 2 }, DatasetPreparer.OriginalProtocol);

        Assert.Equal(0, dataset.Options.HoldoutDays);
        Assert.Empty(dataset.ValidationRecent);
        Assert.Equal(270, dataset.Train.Count + dataset.Validation.Count + dataset.Test.Count);
    }

    [Fact]
    public void A_sharded_prepare_takes_the_same_holdout()
    {
        var whole = DatasetPreparer.Prepare(DailySessions(users: 50, days: 9).Build(), PredictionTask.Events, PrepareOptions.Default, "default");
        var parts = Enumerable.Range(0, 3).Select(k => new UserShard(k, 3)).Select(shard => DatasetPreparer.PrepareShard(
            DailySessions(users: 50, days: 9, shard: shard).Build(), PredictionTask.Events, PrepareOptions.Default, "default", shard)).ToArray();

        var merged = DatasetPreparer.Merge(parts);

        Assert.NotEmpty(whole.ValidationRecent);
        Assert.Equal(whole.ValidationRecent.Select(e => e.Id), merged.ValidationRecent.Select(e => e.Id));
        Assert.Equal(whole.Summary.ValidationRecentFrom, merged.Summary.ValidationRecentFrom);
    }

    [Fact]
    public async Task The_time_field_and_the_recent_split_round_trip_through_the_dataset_files()
    {
        var dataset = DatasetPreparer.Prepare(DailySessions(users: 40, days: 9).Build(), PredictionTask.Events, PrepareOptions.Default, "default");
        Assert.NotEmpty(dataset.ValidationRecent);

        await PreparedDatasetFiles.WriteAsync(dataset, _folder);
        var read = await PreparedDatasetFiles.ReadAsync(_folder);

        Assert.Equal(dataset.Options, read.Options);
        Assert.Equal(dataset.Summary.ValidationRecentFrom, read.Summary.ValidationRecentFrom);
        Assert.Equal(dataset.ValidationRecent.Select(e => (e.Id, e.Time)), read.ValidationRecent.Select(e => (e.Id, e.Time)));
        Assert.Equal(dataset.Train.Select(e => e.Time), read.Train.Select(e => e.Time));
        Assert.All(read.Train, e => Assert.NotNull(e.Time));
    }

    [Fact]
    public async Task A_folder_from_before_the_holdout_reads_with_no_times_and_no_recent_split()
    {
        var dataset = DatasetPreparer.Prepare(DailySessions(users: 30, days: 3).Build(), PredictionTask.Events, PrepareOptions.Default, "default");
        await PreparedDatasetFiles.WriteAsync(dataset, _folder);
        // What an older version wrote: no val_recent.jsonl, no "time", no "holdout_days", no "val_recent" count.
        File.Delete(Path.Combine(_folder, PreparedDatasetFiles.ValidationRecentFileName));
        foreach (var file in new[] { "train.jsonl", "val.jsonl", "test.jsonl" })
        {
            var path = Path.Combine(_folder, file);
            var lines = File.ReadAllLines(path).Select(line =>
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
                node.Remove("time");
                return node.ToJsonString();
            });
            File.WriteAllLines(path, lines);
        }
        var manifestPath = Path.Combine(_folder, PreparedDatasetFiles.ManifestFileName);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        manifest["options"]!.AsObject().Remove("holdout_days");
        manifest["summary"]!["splits"]!.AsObject().Remove("val_recent");
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        var read = await PreparedDatasetFiles.ReadAsync(_folder);

        Assert.Empty(read.ValidationRecent);
        Assert.All(read.Train, e => Assert.Null(e.Time));
        Assert.Equal(0, read.Options.HoldoutDays);
        Assert.Equal(dataset.Train.Select(e => e.Id), read.Train.Select(e => e.Id));
    }

    [Fact]
    public async Task A_missing_recent_file_that_the_manifest_counts_is_an_error_naming_it()
    {
        var dataset = DatasetPreparer.Prepare(DailySessions(users: 30, days: 9).Build(), PredictionTask.Events, PrepareOptions.Default, "default");
        await PreparedDatasetFiles.WriteAsync(dataset, _folder);
        File.Delete(Path.Combine(_folder, PreparedDatasetFiles.ValidationRecentFileName));

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => PreparedDatasetFiles.ReadAsync(_folder));

        Assert.Contains("val_recent.jsonl is missing", error.Message);
    }

    [Theory]
    [InlineData(ValidationSelection.Users, 0.7, 0.5, 0.7)]
    [InlineData(ValidationSelection.Recent, 0.7, 0.5, 0.5)]
    [InlineData(ValidationSelection.Mean, 0.7, 0.5, 0.6)]
    [InlineData(ValidationSelection.Recent, 0.7, double.NaN, 0.7)]
    [InlineData(ValidationSelection.Mean, 0.7, double.NaN, 0.7)]
    public void The_selection_rule_combines_the_two_validation_scores(ValidationSelection selection, double users, double recent, double expected)
    {
        Assert.Equal(expected, selection.Score(users, recent), 12);
    }

    [Fact]
    public void Validation_selection_is_read_from_pipeline_params_and_a_bad_value_names_the_key()
    {
        const string config = """
            {"model_type": "rnn", "model_init_params": {}, "model_training_params": {"task": "events"},
             "pipeline_params": {"validation_selection": "VALUE"}, "grid_search_params": {}}
            """;
        Assert.Equal(ValidationSelection.Mean, NnConfig.Parse(config.Replace("\"validation_selection\": \"VALUE\"", "")).Pipeline.ValidationSelection);
        Assert.Equal(ValidationSelection.Recent, NnConfig.Parse(config.Replace("VALUE", "recent")).Pipeline.ValidationSelection);

        var error = Assert.Throws<InvalidInputException>(() => NnConfig.Parse(config.Replace("VALUE", "time")));

        Assert.Contains("validation_selection", error.Message);
        Assert.Contains("users", error.Message);
    }
}
