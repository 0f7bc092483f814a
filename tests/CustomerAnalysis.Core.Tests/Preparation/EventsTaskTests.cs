using CustomerAnalysis.Core.Preparation;
using static CustomerAnalysis.Core.Tests.Preparation.TestEvents;

namespace CustomerAnalysis.Core.Tests.Preparation;

public class EventsTaskTests
{
    private static PreparedDataset Prepare(TestEvents events, PrepareOptions? options = null) =>
        DatasetPreparer.Prepare(events.Build(), PredictionTask.Events, options ?? AllTrain(), DatasetPreparer.DefaultProtocol);

    [Fact]
    public void Events_are_ordered_by_timestamp_then_bundle_then_source_position()
    {
        var events = new TestEvents()
            .Add("u", 1, Seconds(5), "target")
            .Add("u", 1, Seconds(1), "same_ts_bundle_9", bundle: 9)
            .Add("u", 1, Seconds(1), "same_ts_bundle_3_first_in_source", bundle: 3)
            .Add("u", 1, Seconds(1), "same_ts_bundle_3_second_in_source", bundle: 3)
            .Add("u", 1, Seconds(1), "same_ts_no_bundle")
            .Add("u", 1, Seconds(0), "earliest", bundle: 100);

        var dataset = Prepare(events);

        var example = Assert.Single(dataset.Train);
        Assert.Equal(
            ["earliest", "same_ts_no_bundle", "same_ts_bundle_3_first_in_source", "same_ts_bundle_3_second_in_source",
                "same_ts_bundle_9"],
            Names(dataset, example));
        Assert.Equal("target", dataset.Vocabulary.Decode(example.Label));
        Assert.Equal([0f, 1f, 0f, 0f, 0f], example.GapSeconds);
    }

    [Fact]
    public void A_session_is_user_and_ga_session_id_and_its_target_is_the_last_event()
    {
        // Both users use ga_session_id 7: two sessions, not one.
        var events = new TestEvents()
            .Add("a", 7, Seconds(0), "page_view")
            .Add("b", 7, Seconds(1), "page_view")
            .Add("a", 7, Seconds(2), "add_to_cart")
            .Add("b", 7, Seconds(3), "scroll")
            .Add("a", 8, Seconds(4), "page_view")
            .Add("a", 8, Seconds(6), "purchase");

        var dataset = Prepare(events);

        Assert.Equal(3, dataset.Summary.Sessions);
        Assert.Equal(3, dataset.Summary.Sequences);
        var byId = dataset.Train.ToDictionary(e => e.Id);
        Assert.Equal(["a:7", "a:8", "b:7"], byId.Keys.Order());
        Assert.Equal("add_to_cart", dataset.Vocabulary.Decode(byId["a:7"].Label));
        Assert.Equal("scroll", dataset.Vocabulary.Decode(byId["b:7"].Label));
        Assert.Equal(["page_view"], Names(dataset, byId["a:8"]));
        Assert.Equal("a", byId["a:8"].User);
        var labels = Assert.IsType<Dictionary<string, long>>(dataset.Summary.Labels);
        Assert.Equal(new Dictionary<string, long> { ["add_to_cart"] = 1, ["purchase"] = 1, ["scroll"] = 1 }, labels);
    }

    [Fact]
    public void Sessions_with_fewer_than_two_events_are_dropped_and_counted()
    {
        var events = new TestEvents()
            .Add("a", 1, Seconds(0), "page_view")
            .Add("a", 2, Seconds(10), "page_view")
            .Add("a", 2, Seconds(11), "scroll")
            .Add("b", 3, Seconds(0), "session_start");

        var dataset = Prepare(events);

        Assert.Equal(3, dataset.Summary.Sessions);
        Assert.Equal(2, dataset.Summary.SessionsTooShort);
        Assert.Equal(1, dataset.Summary.Sequences);
        Assert.Equal("a:2", Assert.Single(dataset.Train).Id);
    }

    [Fact]
    public void Long_inputs_keep_their_last_events_with_the_first_gap_zero()
    {
        var events = new TestEvents();
        for (var i = 0; i < 10; i++) events.Add("u", 1, Seconds(i * i), $"e{i}");

        var dataset = Prepare(events, AllTrain() with { MaxSequenceLength = 3 });

        var example = Assert.Single(dataset.Train);
        Assert.Equal(["e6", "e7", "e8"], Names(dataset, example));
        Assert.Equal("e9", dataset.Vocabulary.Decode(example.Label));
        Assert.Equal([0f, 13f, 15f], example.GapSeconds); // 49-36, 64-49
        Assert.Equal(1, dataset.Summary.SequencesTruncated);
    }

    [Fact]
    public void Vocabulary_comes_from_the_training_split_and_unknown_targets_encode_as_unk()
    {
        // Ten users, one session each: page_view then a target name no other session has. With train 0.5 and val 0.5,
        // the five validation targets are never seen in training.
        var events = new TestEvents();
        for (var u = 0; u < 10; u++)
            events.Add($"user{u}", 1, Seconds(0), "page_view").Add($"user{u}", 1, Seconds(1), $"target{u}");

        var dataset = Prepare(events, PrepareOptions.Default with { Split = new SplitRatios(0.5, 0.5, 0) });

        Assert.Equal(5, dataset.Train.Count);
        Assert.Equal(5, dataset.Validation.Count);
        var trainTargets = dataset.Train.Select(e => dataset.Vocabulary.Decode(e.Label)).Order(StringComparer.Ordinal);
        // page_view (5) first, then the training targets (1 each) by name.
        Assert.Equal([Vocabulary.PadToken, Vocabulary.UnkToken, "page_view", .. trainTargets], dataset.Vocabulary.Tokens);
        Assert.All(dataset.Validation, e => Assert.Equal(Vocabulary.Unk, e.Label));
        Assert.All(dataset.Validation, e => Assert.Equal([dataset.Vocabulary.Encode("page_view")], e.Tokens));
        Assert.Equal(5, dataset.Summary.UnknownTargets);
    }

    [Fact]
    public void Vocabulary_orders_names_by_training_frequency_then_name()
    {
        var events = new TestEvents()
            .Add("u", 1, Seconds(0), "scroll")
            .Add("u", 1, Seconds(1), "b_event")
            .Add("u", 1, Seconds(2), "scroll")
            .Add("u", 1, Seconds(3), "a_event")
            .Add("u", 1, Seconds(4), "scroll");

        var dataset = Prepare(events);

        Assert.Equal([Vocabulary.PadToken, Vocabulary.UnkToken, "scroll", "a_event", "b_event"], dataset.Vocabulary.Tokens);
    }

    [Fact]
    public void User_split_puts_all_of_a_users_sessions_in_one_split()
    {
        var dataset = Prepare(ManyUsersWithSessions(users: 60, sessionsPerUser: 4), PrepareOptions.Default);

        var splitsOfUser = SplitsByUser(dataset);
        Assert.Equal(60, splitsOfUser.Count);
        Assert.All(splitsOfUser.Values, splits => Assert.Single(splits));
        // Cut by sequences: 240 × 0.70 = 168 train, whole users of 4 sessions each.
        Assert.Equal(168, dataset.Train.Count);
        Assert.Equal(240, dataset.Summary.Splits.Train + dataset.Summary.Splits.Validation + dataset.Summary.Splits.Test);
    }

    [Fact]
    public void Row_split_deals_sessions_independently_at_the_configured_ratios()
    {
        var dataset = Prepare(ManyUsersWithSessions(users: 50, sessionsPerUser: 4),
            PrepareOptions.Default with { SplitMode = SplitMode.Row });

        Assert.Equal(new SplitSizes(140, 30, 30), dataset.Summary.Splits);
        Assert.Contains(SplitsByUser(dataset).Values, splits => splits.Count > 1);
    }

    [Fact]
    public void Splits_depend_on_the_seed_and_not_on_row_order_in_memory()
    {
        var forward = ManyUsersWithSessions(users: 40, sessionsPerUser: 2);
        var backward = ManyUsersWithSessions(users: 40, sessionsPerUser: 2, reverseSourceOrder: true);

        var first = Prepare(forward, PrepareOptions.Default);
        var second = Prepare(backward, PrepareOptions.Default);
        var otherSeed = Prepare(ManyUsersWithSessions(users: 40, sessionsPerUser: 2), PrepareOptions.Default with { Seed = 7 });

        Assert.Equal(first.Train.Select(e => e.Id), second.Train.Select(e => e.Id));
        Assert.Equal(first.Validation.Select(e => e.Id), second.Validation.Select(e => e.Id));
        Assert.Equal(first.Test.Select(e => e.Id), second.Test.Select(e => e.Id));
        Assert.NotEqual(first.Train.Select(e => e.Id).Order(), otherSeed.Train.Select(e => e.Id).Order());
    }

    [Fact]
    public void Summary_counts_rows_users_sessions_and_event_names()
    {
        var events = new TestEvents()
            .Add("a", 1, Seconds(0), "page_view")
            .Add("a", 1, Seconds(1), "page_view")
            .AddRowWithoutSession("a", Seconds(2), "scroll")
            .Add("b", 2, Seconds(0), "scroll")
            .Add("b", 2, Seconds(1), "page_view");

        var summary = Prepare(events).Summary;

        Assert.Equal("events", summary.Task);
        Assert.Equal("default", summary.Protocol);
        Assert.Equal(5, summary.RowsRead);
        Assert.Equal(1, summary.RowsRejected);
        Assert.Equal(new Dictionary<string, long> { ["missing_ga_session_id"] = 1 }, summary.RowsRejectedByReason);
        Assert.Equal(2, summary.Users);
        Assert.Equal(2, summary.Sessions);
        Assert.Equal(new Dictionary<string, long> { ["page_view"] = 3, ["scroll"] = 1 }, summary.EventNames);
        Assert.Equal(new SplitSizes(2, 0, 0), summary.Splits);
    }

    [Fact]
    public void An_unknown_protocol_or_invalid_options_are_rejected()
    {
        var table = new TestEvents().Add("a", 1, 0, "page_view").Build();

        var protocol = Assert.Throws<InvalidInputException>(() =>
            DatasetPreparer.Prepare(table, PredictionTask.Events, PrepareOptions.Default, "newest"));
        Assert.Contains("newest", protocol.Message);
        var options = Assert.Throws<InvalidInputException>(() => DatasetPreparer.Prepare(table, PredictionTask.Events,
            PrepareOptions.Default with { MaxSequenceLength = 1 }, DatasetPreparer.DefaultProtocol));
        Assert.Contains("max_sequence_length", options.Message);
    }

    private static TestEvents ManyUsersWithSessions(int users, int sessionsPerUser, bool reverseSourceOrder = false)
    {
        var rows = new List<(string User, long Session, long At, string Name)>();
        for (var u = 0; u < users; u++)
            for (var s = 0; s < sessionsPerUser; s++)
            {
                var at = Hours(s) + Seconds(u);
                rows.Add(($"user{u}", 1000 + s, at, "page_view"));
                rows.Add(($"user{u}", 1000 + s, at + Seconds(1), s % 2 == 0 ? "scroll" : "purchase"));
            }
        if (reverseSourceOrder) rows.Reverse();
        var events = new TestEvents();
        foreach (var row in rows) events.Add(row.User, row.Session, row.At, row.Name);
        return events;
    }

    private static Dictionary<string, HashSet<string>> SplitsByUser(PreparedDataset dataset)
    {
        var result = new Dictionary<string, HashSet<string>>();
        foreach (var (name, examples) in new[] { ("train", dataset.Train), ("val", dataset.Validation), ("test", dataset.Test) })
            foreach (var example in examples)
            {
                if (!result.TryGetValue(example.User, out var splits)) result[example.User] = splits = [];
                splits.Add(name);
            }
        return result;
    }
}
