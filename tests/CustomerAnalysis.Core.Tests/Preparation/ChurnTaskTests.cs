using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using static CustomerAnalysis.Core.Tests.Preparation.TestEvents;

namespace CustomerAnalysis.Core.Tests.Preparation;

public class ChurnTaskTests
{
    /// <summary>A user seen long after everyone else, so the others are not right-censored. It is censored itself.</summary>
    private static TestEvents WithLateUser(TestEvents events) => events.Add("late", 99, Hours(24 * 9), "page_view");

    private static PreparedDataset Prepare(TestEvents events, PrepareOptions? options = null,
        string protocol = DatasetPreparer.DefaultProtocol) =>
        DatasetPreparer.Prepare(events.Build(), PredictionTask.Churn, options ?? AllTrain(), protocol);

    private static Dictionary<string, SequenceExample> ByUser(PreparedDataset dataset) =>
        All(dataset).ToDictionary(e => e.User);

    private static ChurnLabelCounts Counts(PreparedDataset dataset) =>
        Assert.IsType<ChurnLabelCounts>(dataset.Summary.Labels);

    [Fact]
    public void Last_engagement_exactly_at_the_horizon_is_returned_just_before_is_churned()
    {
        var events = WithLateUser(new TestEvents()
            .Add("returned", 1, 0, "page_view")
            .Add("returned", 2, Hours(24), "page_view")
            .Add("churned", 3, 0, "page_view")
            .Add("churned", 3, Hours(24) - 1, "page_view"));

        var dataset = Prepare(events);

        var users = ByUser(dataset);
        Assert.Equal(0, users["returned"].Label);
        Assert.Equal(1, users["churned"].Label);
        Assert.Equal(new ChurnLabelCounts(1, 1, 0, 1), Counts(dataset));
    }

    [Fact]
    public void Last_engagement_exactly_at_the_bounce_limit_is_bounced_and_excluded_by_default()
    {
        var events = WithLateUser(new TestEvents()
            .Add("bounced", 1, 0, "page_view")
            .Add("bounced", 1, Minutes(10), "scroll")
            .Add("churned", 2, 0, "page_view")
            .Add("churned", 2, Minutes(10) + 1, "scroll"));

        var dataset = Prepare(events);

        Assert.Equal(["churned"], ByUser(dataset).Keys);
        Assert.Equal(new ChurnLabelCounts(1, 0, 1, 1), Counts(dataset));
        Assert.Equal(1, dataset.Summary.Sequences);
    }

    [Fact]
    public void Bounced_users_can_be_labelled_not_churned()
    {
        var events = WithLateUser(new TestEvents().Add("bounced", 1, 0, "page_view"));

        var dataset = Prepare(events, AllTrain() with { BouncedUsers = BouncedUsers.NotChurned });

        Assert.Equal(0, ByUser(dataset)["bounced"].Label);
        Assert.Equal(new ChurnLabelCounts(0, 0, 1, 1), Counts(dataset));
    }

    [Fact]
    public void Users_first_seen_less_than_the_horizon_before_the_end_are_censored_before_the_bounce_check()
    {
        var end = Hours(48);
        var events = new TestEvents()
            .Add("on_the_limit", 1, end - Hours(24), "page_view")
            .Add("on_the_limit", 1, end - Hours(23), "scroll")
            .Add("recent", 2, end - Hours(24) + 1, "page_view")
            .Add("recent", 2, end - Hours(12), "scroll")
            .Add("recent_bouncer", 3, end - Hours(1), "page_view")
            .Add("last", 4, end - Hours(30), "page_view")
            .Add("last", 4, end, "scroll");

        var dataset = Prepare(events);
        var uncensored = Prepare(events, AllTrain() with { CensorRecentUsers = false });

        Assert.Equal(["last", "on_the_limit"], ByUser(dataset).Keys.Order());
        var counts = Counts(dataset);
        Assert.Equal(new ChurnLabelCounts(1, 1, 0, 2), counts);
        Assert.Equal(dataset.Summary.Users, counts.Churned + counts.Returned + counts.Bounced + counts.Censored + counts.NoEngagement);
        Assert.Equal(new ChurnLabelCounts(2, 1, 1, 0), Counts(uncensored));
        Assert.Equal(1, ByUser(uncensored)["recent"].Label);
    }

    [Fact]
    public void The_default_window_holds_only_events_before_first_engagement_plus_horizon()
    {
        var events = WithLateUser(new TestEvents()
            .Add("u", 1, 0, "session_start")
            .Add("u", 1, Hours(2), "page_view")
            .Add("u", 2, Hours(24), "at_horizon")
            .Add("u", 2, Hours(30), "purchase"));

        var windowed = Prepare(events);
        var leaky = Prepare(events, AllTrain() with { ChurnWindow = ChurnWindow.All });

        var inWindow = ByUser(windowed)["u"];
        Assert.Equal(0, inWindow.Label);
        Assert.Equal(["session_start", "page_view"], Names(windowed, inWindow));
        Assert.Equal([0f, 7200f], inWindow.GapSeconds);
        Assert.Equal(["session_start", "page_view", "at_horizon", "purchase"], Names(leaky, ByUser(leaky)["u"]));
        Assert.DoesNotContain("purchase", windowed.Vocabulary.Tokens);
    }

    [Fact]
    public void A_window_of_one_event_is_a_valid_sequence_and_sessions_are_merged_in_time_order()
    {
        var events = WithLateUser(new TestEvents()
            .Add("one", 1, 0, "first_visit")
            .Add("one", 2, Hours(25), "page_view")
            .Add("two_sessions", 20, Minutes(30), "scroll")
            .Add("two_sessions", 10, 0, "page_view")
            .Add("two_sessions", 20, Minutes(20), "page_view"));

        var dataset = Prepare(events);

        Assert.Equal(["first_visit"], Names(dataset, ByUser(dataset)["one"]));
        Assert.Equal(["page_view", "page_view", "scroll"], Names(dataset, ByUser(dataset)["two_sessions"]));
        Assert.Equal(5, dataset.Summary.Sessions);
    }

    [Fact]
    public void Engagement_can_be_user_engagement_only()
    {
        // With every event as engagement this user returned (a page_view 30 h later); counting only user_engagement,
        // their engagement lasted 5 minutes: a bounce.
        var events = WithLateUser(new TestEvents()
            .Add("u", 1, 0, "session_start")
            .Add("u", 1, Minutes(1), "user_engagement")
            .Add("u", 1, Minutes(6), "user_engagement")
            .Add("u", 2, Hours(30), "page_view")
            .Add("never_engaged", 3, 0, "page_view")
            .Add("never_engaged", 4, Hours(30), "page_view"));
        var engagementOnly = AllTrain() with { EngagementEvents = EngagementEvents.UserEngagement };

        var all = Prepare(events);
        var onlyEngagement = Prepare(events, engagementOnly);
        var onlyEngagementKeepBounced = Prepare(events, engagementOnly with { BouncedUsers = BouncedUsers.NotChurned });

        Assert.Equal(0, ByUser(all)["u"].Label);
        Assert.Equal(new ChurnLabelCounts(0, 2, 0, 1), Counts(all));
        Assert.Empty(All(onlyEngagement));
        Assert.Equal(new ChurnLabelCounts(0, 0, 1, 0) { NoEngagement = 2 }, Counts(onlyEngagement));
        // The window starts at the user's first event, before their first engagement, and ends 24 h after it.
        Assert.Equal(["session_start", "user_engagement", "user_engagement"],
            Names(onlyEngagementKeepBounced, ByUser(onlyEngagementKeepBounced)["u"]));
    }

    [Fact]
    public void Long_windows_keep_their_last_events()
    {
        var events = new TestEvents();
        for (var i = 0; i < 6; i++) events.Add("u", 1, Hours(i), $"e{i}");
        WithLateUser(events);

        var dataset = Prepare(events, AllTrain() with { MaxSequenceLength = 2 });

        Assert.Equal(["e4", "e5"], Names(dataset, ByUser(dataset)["u"]));
        Assert.Equal(1, dataset.Summary.SequencesTruncated);
    }

    [Fact]
    public void User_split_is_stratified_by_label()
    {
        // 200 users, a quarter churned.
        var events = new TestEvents();
        for (var u = 0; u < 200; u++)
        {
            events.Add($"user{u}", u, Seconds(u), "page_view");
            events.Add($"user{u}", u, Seconds(u) + (u % 4 == 0 ? Hours(1) : Hours(30)), "page_view");
        }
        WithLateUser(events);

        var dataset = Prepare(events, PrepareOptions.Default);

        // Each label is cut on its own: 50 churned → 35/7/8, 150 returned → 105/22/23.
        Assert.Equal(new SplitSizes(140, 29, 31), dataset.Summary.Splits);
        foreach (var split in new[] { dataset.Train, dataset.Validation, dataset.Test })
            Assert.InRange(split.Average(e => e.Label), 0.24, 0.26);
        Assert.Equal(200, All(dataset).Select(e => e.User).Distinct().Count());
    }

    [Fact]
    public void The_original_protocol_uses_all_history_no_censoring_bounced_as_not_churned_and_row_split()
    {
        var events = new TestEvents()
            .Add("bounced", 1, 0, "page_view")
            .Add("returned", 2, 0, "page_view")
            .Add("returned", 3, Hours(30), "purchase");

        var dataset = Prepare(events, AllTrain(), DatasetPreparer.OriginalProtocol);

        Assert.Equal("original", dataset.Summary.Protocol);
        Assert.Equal(AllTrain().AsOriginalProtocol(), dataset.Options);
        Assert.Equal(SplitMode.Row, dataset.Options.SplitMode);
        Assert.Equal(new ChurnLabelCounts(0, 1, 1, 0), Counts(dataset));
        Assert.Equal(["page_view", "purchase"], Names(dataset, ByUser(dataset)["returned"]));
        Assert.Equal(0, ByUser(dataset)["bounced"].Label);
    }

    [Fact]
    public void Churn_label_counts_serialize_with_the_contract_names()
    {
        var dataset = Prepare(WithLateUser(new TestEvents().Add("u", 1, 0, "page_view")));

        var json = JsonSerializer.Serialize(dataset.Summary);

        using var document = JsonDocument.Parse(json);
        var labels = document.RootElement.GetProperty("labels");
        Assert.Equal(["churned", "returned", "bounced", "censored", "no_engagement"],
            labels.EnumerateObject().Select(p => p.Name));
        Assert.Equal("churn", document.RootElement.GetProperty("task").GetString());
        Assert.Equal(1, labels.GetProperty("bounced").GetInt64());
    }
}
