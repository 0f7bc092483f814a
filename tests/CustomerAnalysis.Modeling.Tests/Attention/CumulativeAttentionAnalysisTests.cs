using CustomerAnalysis.Modeling.Attention;

namespace CustomerAnalysis.Modeling.Tests.Attention;

public class CumulativeAttentionAnalysisTests
{
    private static AttentionExport Export(params (string[] Names, float[] Weights)[] sequences) =>
        new("test", "additive",
        [
            new AttentionBatch(0, sequences.Select(s => (IReadOnlyList<string>)s.Names).ToArray(),
                sequences.Select(s => s.Weights).ToArray(), sequences.Select(_ => "x").ToArray()),
        ]);

    [Fact]
    public void Key_set_is_the_fewest_heaviest_events_reaching_the_threshold()
    {
        // Weights .1 .5 .3 .1: heaviest .5 (view_item), then .3 (add_to_cart) → .8 reaches 0.7 with two events.
        var report = CumulativeAttentionAnalysis.Analyze(
            Export((["page_view", "view_item", "add_to_cart", "scroll"], [0.1f, 0.5f, 0.3f, 0.1f])), threshold: 0.7);

        var focus = Assert.Single(report.Sequences);
        Assert.Equal([1, 2], focus.KeyEvents.Select(e => e.Position));
        Assert.Equal(["view_item", "add_to_cart"], focus.KeyEvents.Select(e => e.EventName));
        Assert.Equal(0.8, focus.CumulativeWeight, 6);
        Assert.True(focus.PassesThreshold);
        Assert.Equal(4, focus.SequenceLength);
    }

    [Fact]
    public void Reaching_the_threshold_exactly_counts_despite_float_rounding()
    {
        // .4f + .3f is 0.69999999 in floats; it still reaches 0.7 with two events.
        var report = CumulativeAttentionAnalysis.Analyze(Export((["a", "b", "c"], [0.4f, 0.3f, 0.3f])), threshold: 0.7);

        Assert.Equal(2, report.Sequences[0].KeyEvents.Count);
    }

    [Fact]
    public void Equal_weights_take_the_earlier_position_first()
    {
        var report = CumulativeAttentionAnalysis.Analyze(Export((["a", "b", "c", "d"], [0.25f, 0.25f, 0.25f, 0.25f])), 0.5);

        Assert.Equal([0, 1], report.Sequences[0].KeyEvents.Select(e => e.Position));
    }

    [Fact]
    public void Sequences_whose_weights_never_reach_the_threshold_are_flagged()
    {
        // Masked weights summing to .6 cannot reach .9: the key set is the whole sequence.
        var report = CumulativeAttentionAnalysis.Analyze(
            Export((["a", "b"], [0.9f, 0.1f]), (["a", "c"], [0.4f, 0.2f])), threshold: 0.9);

        Assert.Equal(1, report.SequencesPassing);
        Assert.False(report.Sequences[1].PassesThreshold);
        Assert.Equal(2, report.Sequences[1].KeyEvents.Count);
        Assert.Equal(1.5, report.MeanKeyEvents);   // (1 + 2) / 2
    }

    [Fact]
    public void Key_event_counts_tally_each_name_once_per_sequence()
    {
        // Key sets: {page_view, page_view} → page_view once; {scroll}; {page_view}.
        var report = CumulativeAttentionAnalysis.Analyze(Export(
            (["page_view", "page_view", "scroll"], [0.4f, 0.4f, 0.2f]),
            (["scroll", "page_view"], [0.9f, 0.1f]),
            (["page_view", "scroll"], [0.8f, 0.2f])), threshold: 0.8);

        Assert.Equal(["page_view", "scroll"], report.KeyEventCounts.Keys);
        Assert.Equal(2, report.KeyEventCounts["page_view"]);
        Assert.Equal(1, report.KeyEventCounts["scroll"]);
    }

    [Fact]
    public void Bad_threshold_or_misaligned_rows_are_rejected()
    {
        var export = Export((["a"], [1f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CumulativeAttentionAnalysis.Analyze(export, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CumulativeAttentionAnalysis.Analyze(export, 1.5));
        Assert.Throws<ArgumentException>(() => CumulativeAttentionAnalysis.Analyze(Export((["a", "b"], [1f])), 0.5));
    }
}
