using System.Collections.Concurrent;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// The rows of an <see cref="EventTable"/> grouped by user, each user's rows in the product's event order:
/// <c>event_timestamp</c>, then <c>event_bundle_sequence_id</c>, then source position — within each session
/// (<see cref="Grouping.SessionThenTime"/>, sessions by <c>ga_session_id</c>) or across the user's sessions
/// (<see cref="Grouping.Time"/>).
/// Built with a counting sort by user (linear, stable) and then a sort of each user's rows on a compact copy of their
/// keys, so millions of rows sort in about linear time without comparing objects; users are sorted in parallel.
/// </summary>
internal sealed class UserEventOrder
{
    public enum Grouping
    {
        SessionThenTime,
        Time,
    }

    private UserEventOrder(int[] rows, int[] userStart)
    {
        Rows = rows;
        UserStart = userStart;
    }

    /// <summary>Row indexes into the table, user 0's rows first.</summary>
    public int[] Rows { get; }

    /// <summary>User u's rows are <c>Rows[UserStart[u] .. UserStart[u + 1]]</c> (length = users + 1).</summary>
    public int[] UserStart { get; }

    public static UserEventOrder Build(EventTable table, Grouping grouping)
    {
        var userCount = table.Users.Count;
        var userOfRow = table.UserIndex;

        // Counting sort by user: rows of each user stay in source order, the last tie-break.
        var userStart = new int[userCount + 1];
        foreach (var user in userOfRow) userStart[user + 1]++;
        for (var u = 0; u < userCount; u++) userStart[u + 1] += userStart[u];
        var next = userStart[..^1];
        var rows = new int[table.Count];
        for (var row = 0; row < userOfRow.Length; row++)
            rows[next[userOfRow[row]]++] = row;

        // Each user's rows are sorted on their own, so users are shared out between threads in contiguous ranges.
        var bySession = grouping == Grouping.SessionThenTime;
        var usersPerRange = Math.Max(4096, userCount / (8 * Environment.ProcessorCount));
        if (userCount > 0)
            Parallel.ForEach(Partitioner.Create(0, userCount, usersPerRange), range =>
                SortUsers(table, bySession, rows, userStart, range.Item1, range.Item2));
        return new UserEventOrder(rows, userStart);
    }

    /// <summary>Sorts the rows of users <paramref name="firstUser"/> to <paramref name="endUser"/> (exclusive) in place.</summary>
    private static void SortUsers(EventTable table, bool bySession, int[] rows, int[] userStart, int firstUser, int endUser)
    {
        var session = table.GaSessionId;
        var timestamp = table.Timestamp;
        var bundle = table.BundleSequenceId;
        var keys = new RowKey[16];
        for (var u = firstUser; u < endUser; u++)
        {
            var userRows = rows.AsSpan(userStart[u], userStart[u + 1] - userStart[u]);
            if (userRows.Length < 2) continue;
            if (keys.Length < userRows.Length) keys = new RowKey[Math.Max(userRows.Length, keys.Length * 2)];
            var userKeys = keys.AsSpan(0, userRows.Length);
            for (var i = 0; i < userRows.Length; i++)
            {
                var row = userRows[i];
                userKeys[i] = new RowKey(bySession ? session[row] : 0, timestamp[row], bundle[row], row);
            }
            userKeys.Sort();
            for (var i = 0; i < userRows.Length; i++) userRows[i] = userKeys[i].Row;
        }
    }

    /// <summary>The sort key of one row; the row index makes it a total order, so an unstable sort is deterministic.</summary>
    private readonly record struct RowKey(long Session, long Timestamp, long Bundle, int Row) : IComparable<RowKey>
    {
        public int CompareTo(RowKey other)
        {
            var c = Session.CompareTo(other.Session);
            if (c != 0) return c;
            c = Timestamp.CompareTo(other.Timestamp);
            if (c != 0) return c;
            c = Bundle.CompareTo(other.Bundle);
            return c != 0 ? c : Row.CompareTo(other.Row);
        }
    }
}
