using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Tests.Events;

public class UserShardTests
{
    [Fact]
    public void The_shard_hash_is_xxhash64_of_the_utf8_id()
    {
        // XXH64("abc", seed 0), the reference implementation's value: the hash is the documented one, not ours.
        Assert.Equal(0x44BC2CF5AD770999UL, UserShard.Hash("abc"));
        Assert.Equal((int)(0x44BC2CF5AD770999UL % 7), UserShard.Of("abc", 7));
        // Longer than the stack buffer, and non-ASCII: the UTF-8 bytes are hashed.
        var longId = new string('é', 300);
        Assert.Equal(System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(longId)), UserShard.Hash(longId));
    }

    [Fact]
    public void Missing_ids_belong_to_shard_zero_and_bad_shards_are_refused()
    {
        Assert.Equal(0, UserShard.Of(null, 8));
        Assert.Equal(0, UserShard.Of("", 8));
        Assert.Throws<InvalidInputException>(() => new UserShard(3, 3));
        Assert.Throws<InvalidInputException>(() => new UserShard(0, 0));
    }

    [Fact]
    public void Builders_of_all_shards_keep_and_reject_every_row_exactly_once()
    {
        var rows = Enumerable.Range(0, 400).Select(i => new SourceRow(
            i % 37 == 0 ? null : $"user{i % 50}", i % 41 == 0 ? null : i, "page_view", 1, null, "a.json", i + 1)).ToArray();
        var batch = new SourceBatch("a.json", 1, [.. Enumerable.Range(0, 50).Select(u => $"user{u}"), "page_view"],
            rows.Select(r => r.UserPseudoId is null ? SourceBatch.Missing : int.Parse(r.UserPseudoId[4..])).ToArray(),
            rows.Select(_ => 50).ToArray(), rows.Select(r => r.EventTimestamp).ToArray(),
            rows.Select(r => r.GaSessionId).ToArray(), rows.Select(r => r.EventBundleSequenceId).ToArray());

        long read = 0, kept = 0, noUser = 0;
        var users = new HashSet<string>();
        for (var k = 0; k < 4; k++)
        {
            var byRow = new EventTableBuilder { Shard = new UserShard(k, 4) };
            foreach (var row in rows) byRow.Add(row);
            var byBatch = new EventTableBuilder { Shard = new UserShard(k, 4) };
            byBatch.AddBatch(batch);
            var (a, b) = (byRow.Build(), byBatch.Build());
            Assert.Equal(a.Users, b.Users);
            Assert.Equal(a.Report.RowsRead, b.Report.RowsRead);
            Assert.Equal(a.Report.RejectedByReason, b.Report.RejectedByReason);
            Assert.All(a.Users, u => Assert.Equal(k, UserShard.Of(u, 4)));
            foreach (var u in a.Users) Assert.True(users.Add(u));
            read += a.Report.RowsRead;
            kept += a.Count;
            noUser += a.Report.RejectedByReason.GetValueOrDefault(RejectReason.MissingUserPseudoId);
            if (k != 0) Assert.False(a.Report.RejectedByReason.ContainsKey(RejectReason.MissingUserPseudoId));
        }
        var whole = new EventTableBuilder();
        foreach (var row in rows) whole.Add(row);
        var all = whole.Build();
        Assert.Equal(all.Report.RowsRead, read);
        Assert.Equal(all.Count, kept);
        Assert.Equal(all.Report.RejectedByReason[RejectReason.MissingUserPseudoId], noUser);
        Assert.Equal(all.Users.Count, users.Count);
    }
}
