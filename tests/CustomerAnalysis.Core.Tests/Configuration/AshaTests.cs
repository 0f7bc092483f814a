using CustomerAnalysis.Core.Configuration;

namespace CustomerAnalysis.Core.Tests.Configuration;

public class AshaTests
{
    private static NnConfig Config(int epochs, int minEpochs, int eta, string search = "asha") => NnConfig.Parse($$"""
        {"model_type": "rnn", "model_training_params": {"num_epochs": {{epochs}} },
         "pipeline_params": {"search": "{{search}}", "search_trials": 2, "asha_min_epochs": {{minEpochs}}, "asha_reduction_factor": {{eta}} } }
        """);

    [Fact]
    public void Rungs_are_min_epochs_times_powers_of_eta_below_the_last_epoch()
    {
        Assert.Equal([1, 3, 9], Asha.Rungs(Config(27, 1, 3)));
        Assert.Equal([2, 4, 8], Asha.Rungs(Config(10, 2, 2)));
        Assert.Equal([3], Asha.Rungs(Config(4, 3, 3)));
        Assert.Empty(Asha.Rungs(Config(10, 1, 3, search: "random")));
    }

    [Theory]
    [InlineData(new[] { 0.5 }, 0.5, true, true)] // alone at the rung: goes on
    [InlineData(new[] { 0.7, 0.5 }, 0.5, true, false)] // η = 2: top 1 of 2
    [InlineData(new[] { 0.4, 0.5 }, 0.5, true, true)]
    [InlineData(new[] { 0.7, 0.6, 0.5, 0.4 }, 0.6, true, true)] // top 2 of 4
    [InlineData(new[] { 0.7, 0.6, 0.5, 0.4 }, 0.5, true, false)]
    [InlineData(new[] { 0.7, 0.6, 0.5, 0.4 }, 0.5, false, true)] // lower is better (log loss)
    [InlineData(new[] { 0.7, 0.7 }, 0.7, true, true)] // a tie is not beaten
    [InlineData(new[] { 0.7, double.NaN }, double.NaN, true, false)] // undefined ranks last
    public void A_trial_goes_on_when_it_is_in_the_top_one_over_eta_of_the_rung(double[] scores, double own, bool higherIsBetter, bool goesOn) =>
        Assert.Equal(goesOn, Asha.GoesOn(scores, own, higherIsBetter, reductionFactor: 2));

    [Fact]
    public void The_stopper_reports_only_at_rungs_and_stops_a_trial_below_the_others()
    {
        var config = Config(9, 1, 2);
        var board = new InMemoryRungBoard();
        var strong = Asha.Stopper(config, board, "s", "a", higherIsBetter: true, CancellationToken.None)!;
        var weak = Asha.Stopper(config, board, "s", "b", higherIsBetter: true, CancellationToken.None)!;
        Assert.True(strong(1, 0.8));
        Assert.True(weak(3, 0.1)); // epoch 3 is no rung: nothing reported, goes on
        Assert.False(weak(1, 0.2));
        Assert.True(strong(2, 0.85));
        // Another search on the same board does not see these scores.
        Assert.True(Asha.Stopper(config, board, "other", "b", true, CancellationToken.None)!(1, 0.1));
        Assert.Null(Asha.Stopper(Config(9, 1, 2, search: "random"), board, "s", "c", true, CancellationToken.None));
    }

    [Fact]
    public async Task A_repeated_report_replaces_the_trials_score()
    {
        var board = new InMemoryRungBoard();
        await board.ReportAsync("s", 1, "a", 0.1, CancellationToken.None);
        var scores = await board.ReportAsync("s", 1, "a", 0.3, CancellationToken.None);
        Assert.Equal([0.3], scores);
    }
}
