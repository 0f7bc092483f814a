using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using static CustomerAnalysis.Core.Tests.Preparation.TestEvents;

namespace CustomerAnalysis.Core.Tests.Preparation;

public class ScoringShardTests
{
    private static Dictionary<string, ScoringSequence> Scored(ScoringShard shard) =>
        shard.Sequences.Where(s => shard.IsScored(s, ScoringShard.EndOfData([shard.MaxTimestamp])))
            .ToDictionary(s => s.User);

    [Fact]
    public void Churn_scores_exactly_the_users_the_training_labels_keep_with_the_same_window()
    {
        var events = new TestEvents()
            .Add("returned", 1, 0, "session_start").Add("returned", 1, Minutes(20), "page_view")
            .Add("returned", 2, Hours(30), "page_view")
            .Add("churned", 3, 0, "page_view").Add("churned", 3, Hours(2), "scroll")
            .Add("bounced", 4, 0, "page_view").Add("bounced", 4, Minutes(5), "page_view")
            .Add("recent", 5, Hours(24 * 9) - Hours(1), "page_view").Add("recent", 5, Hours(24 * 9), "click")
            .Build();

        var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Churn, PrepareOptions.Default, UserShard.Whole);
        var dataset = DatasetPreparer.Prepare(events, PredictionTask.Churn, AllTrain(), DatasetPreparer.DefaultProtocol);

        var scored = Scored(shard);
        Assert.Equal(All(dataset).Select(e => e.User).Order(), scored.Keys.Order());
        Assert.Equal(["churned", "returned"], scored.Keys.Order());
        // The input is the churn window (the return at 30 h is not in it), as the training sequence's.
        foreach (var example in All(dataset))
            Assert.Equal(Names(dataset, example), scored[example.User].Names.Select(n => shard.EventNames[n]));
        Assert.Equal(1, shard.Bounced);
        Assert.DoesNotContain("recent", scored.Keys); // its 24 h window has not ended in the data
        Assert.Contains(shard.Sequences, s => s.User == "recent");
    }

    [Fact]
    public void Bounced_users_are_not_scored_even_when_training_labels_them_not_churned()
    {
        var events = new TestEvents()
            .Add("bounced", 1, 0, "page_view").Add("bounced", 1, Minutes(5), "page_view")
            .Add("late", 2, Hours(24 * 3), "page_view").Build();
        var options = PrepareOptions.Default with { BouncedUsers = BouncedUsers.NotChurned };

        var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Churn, options, UserShard.Whole);

        Assert.Empty(Scored(shard));
        Assert.Equal(2, shard.Bounced); // "late" has one event: it bounced too
    }

    [Fact]
    public void Next_event_scores_each_users_latest_session_whole_and_cut_to_the_length_limit()
    {
        var events = new TestEvents()
            .Add("a", 1, 0, "session_start").Add("a", 1, Minutes(1), "page_view")
            .Add("a", 7, Hours(5), "session_start").Add("a", 7, Hours(5) + Seconds(10), "view_item").Add("a", 7, Hours(5) + Seconds(30), "add_to_cart")
            // b's session 9 started first but has the later last event.
            .Add("b", 9, 0, "session_start").Add("b", 9, Hours(3), "purchase")
            .Add("b", 10, Hours(1), "session_start")
            .Add("c", 3, 0, "first_visit")
            .Build();

        var shard = DatasetPreparer.PrepareScoringShard(events, PredictionTask.Events,
            PrepareOptions.Default with { MaxSequenceLength = 2 }, UserShard.Whole);

        var scored = Scored(shard);
        Assert.Equal(["a", "b", "c"], scored.Keys.Order());
        string[] NamesOf(string user) => scored[user].Names.Select(n => shard.EventNames[n]).ToArray();
        Assert.Equal(["view_item", "add_to_cart"], NamesOf("a"));
        Assert.Equal([0f, 20f], scored["a"].GapSeconds);
        Assert.Equal(["session_start", "purchase"], NamesOf("b"));
        Assert.Equal(["first_visit"], NamesOf("c"));
    }
}
