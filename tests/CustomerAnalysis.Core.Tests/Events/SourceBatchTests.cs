using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Tests.Events;

public class SourceBatchTests
{
    private const int Missing = SourceBatch.Missing;

    [Fact]
    public void Batches_are_kept_and_rejected_by_the_same_rules_as_rows_one_by_one()
    {
        // Each batch numbers its own strings.
        var first = new SourceBatch("a.json", 1, ["u1", "page_view", "", "scroll"],
            user: [0, Missing, 0, 0, 0], name: [1, 1, 3, 2, 3],
            timestamp: [10, 11, null, 12, 14], gaSessionId: [7, 7, 7, 7, 7], bundleSequenceId: [null, null, null, null, 3]);
        var second = new SourceBatch("a.json", 6, ["page_view", "u2", "scroll"],
            user: [1, 1], name: [2, 0], timestamp: [12, 13], gaSessionId: [null, 9], bundleSequenceId: [5, 5]);
        var batched = new EventTableBuilder();
        batched.AddBatch(first);
        batched.AddBatch(second);

        var rowByRow = new EventTableBuilder();
        foreach (var row in new SourceRow[]
                 {
                     new("u1", 10, "page_view", 7, null, "a.json", 1), new(null, 11, "page_view", 7, null, "a.json", 2),
                     new("u1", null, "scroll", 7, null, "a.json", 3), new("u1", 12, "", 7, null, "a.json", 4),
                     new("u1", 14, "scroll", 7, 3, "a.json", 5),
                     new("u2", 12, "scroll", null, 5, "a.json", 6), new("u2", 13, "page_view", 9, 5, "a.json", 7),
                 })
            rowByRow.Add(row);

        var expected = rowByRow.Build();
        var actual = batched.Build();
        Assert.Equal(3, actual.Count);
        Assert.Equal(expected.Users, actual.Users);
        Assert.Equal(expected.EventNames, actual.EventNames);
        Assert.Equal(expected.UserIndex.ToArray(), actual.UserIndex.ToArray());
        Assert.Equal(expected.NameIndex.ToArray(), actual.NameIndex.ToArray());
        Assert.Equal(expected.Timestamp.ToArray(), actual.Timestamp.ToArray());
        Assert.Equal(expected.GaSessionId.ToArray(), actual.GaSessionId.ToArray());
        Assert.Equal(expected.BundleSequenceId.ToArray(), actual.BundleSequenceId.ToArray());
        Assert.Equal(expected.Report.RowsRead, actual.Report.RowsRead);
        Assert.Equal(expected.Report.RejectedByReason, actual.Report.RejectedByReason);
        Assert.Equal(expected.Report.FirstRejected, actual.Report.FirstRejected);
    }

    [Fact]
    public void Names_used_only_by_rejected_rows_get_no_id_and_ids_follow_first_kept_use()
    {
        // "late" is numbered first by the batch but only used by a rejected row, then by the last kept row.
        var batch = new SourceBatch("a.parquet", 1, ["late", "u1", "early"],
            user: [1, 1, 1], name: [0, 2, 0], timestamp: [1, 2, 3], gaSessionId: [null, 5, 5], bundleSequenceId: [null, null, null]);
        var builder = new EventTableBuilder();
        builder.AddBatch(batch);

        var table = builder.Build();
        Assert.Equal(["early", "late"], table.EventNames);
        Assert.Equal([0, 1], table.NameIndex.ToArray());
    }

    [Fact]
    public void A_row_referring_to_an_undefined_string_is_refused()
    {
        var undefined = new SourceBatch("a.parquet", 2, ["u1"], [0], [7], [2], [1], [null]);
        var error = Assert.Throws<ArgumentException>(() => new EventTableBuilder().AddBatch(undefined));
        Assert.Contains("string number 7 is not defined", error.Message);
    }

    [Fact]
    public void Columns_of_different_lengths_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new SourceBatch("a.parquet", 1, ["u1"], [0, 0], [0], [1], [1], [null]));
        Assert.Contains("differ in length", error.Message);
    }
}
