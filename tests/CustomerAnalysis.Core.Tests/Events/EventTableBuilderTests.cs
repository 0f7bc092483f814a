using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Tests.Events;

public class EventTableBuilderTests
{
    [Fact]
    public void Rows_missing_a_required_field_are_rejected_counted_and_located()
    {
        var builder = new EventTableBuilder();
        builder.Add(new SourceRow("u1", 10, "page_view", 7, null, "a.json", 1));
        builder.Add(new SourceRow(null, 11, "page_view", 7, null, "a.json", 2));
        builder.Add(new SourceRow("u1", null, "scroll", 7, null, "a.json", 3));
        builder.Add(new SourceRow("u1", 12, "", 7, null, "a.json", 4));
        builder.Add(new SourceRow("u2", 12, "scroll", null, 5, "b.json", 1));
        builder.Add(new SourceRow("u2", 13, "scroll", 9, 5, "b.json", 2));

        var table = builder.Build();

        Assert.Equal(2, table.Count);
        Assert.Equal(6, table.Report.RowsRead);
        Assert.Equal(4, table.Report.RowsRejected);
        Assert.Equal(1, table.Report.RejectedByReason[RejectReason.MissingGaSessionId]);
        Assert.Equal(new RejectedRow("a.json", 2, RejectReason.MissingUserPseudoId), table.Report.FirstRejected[0]);
        Assert.Equal(["u1", "u2"], table.Users);
        Assert.Equal(["page_view", "scroll"], table.EventNames);
        Assert.Equal(EventTable.NoBundleSequenceId, table.BundleSequenceId[0]);
        Assert.Equal(5, table.BundleSequenceId[1]);
    }
}
