using System.Collections.Concurrent;
using System.Text.Json;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// Turns an <see cref="EventTable"/> into a <see cref="PreparedDataset"/>: sessions or users as sequences, labels,
/// train/validation/test splits and the training vocabulary.
/// <para>Definitions (the product's, pinned by tests):</para>
/// <list type="bullet">
/// <item>A session is (<c>user_pseudo_id</c>, <c>ga_session_id</c>). Events are ordered by <c>event_timestamp</c>,
/// then <c>event_bundle_sequence_id</c> (rows without one first), then their position in the source.</item>
/// <item>Events task: one sequence per session; the input is every event but the last, the label the last event's
/// token (<c>&lt;UNK&gt;</c> when its name is not in the training vocabulary, counted in
/// <see cref="PrepareSummary.UnknownTargets"/>). Sessions with fewer than 2 events are dropped and counted.</item>
/// <item>Churn task: one sequence per labelled user, the user's events across sessions in event order. Engagement is
/// every event or only <c>user_engagement</c> (<see cref="PrepareOptions.EngagementEvents"/>). Each user is, checked
/// in this order: <em>no engagement</em> (no engagement event: excluded); <em>censored</em> (when
/// <see cref="PrepareOptions.CensorRecentUsers"/>: first engagement + horizon is after the end of the data, the
/// largest timestamp in the table: excluded — censoring is checked before bouncing, so a recent user who bounced is
/// counted as censored); <em>bounced</em> (last engagement ≤ first + bounce minutes: excluded, or labelled 0 under
/// <see cref="BouncedUsers.NotChurned"/>); <em>churned</em> (last engagement &lt; first + horizon: label 1);
/// otherwise <em>returned</em> (label 0; exactly first + horizon is returned). The counts add up to the users.</item>
/// <item>Churn input window <see cref="ChurnWindow.Horizon"/>: only events with timestamp &lt; first engagement +
/// horizon (events before the first engagement included), so the input cannot see the return.
/// <see cref="ChurnWindow.All"/>: all the user's events (leaky; the original project).</item>
/// <item>Inputs longer than <see cref="PrepareOptions.MaxSequenceLength"/> keep their last events.</item>
/// <item>Splits: <see cref="SplitMode.User"/> keeps all of a user's sequences in one split (churn: stratified by label);
/// <see cref="SplitMode.Row"/> deals sequences independently. Both are seeded and depend only on the seed and the ids,
/// not on row order in memory. Each split lists its sequences in that seeded shuffled order.</item>
/// <item>Vocabulary: <c>&lt;PAD&gt;</c>, <c>&lt;UNK&gt;</c>, then the event names of the training split (inputs and,
/// for the events task, targets) by descending count.</item>
/// </list>
/// </summary>
public static class DatasetPreparer
{
    public const string DefaultProtocol = "default";
    /// <summary>Applies <see cref="PrepareOptions.AsOriginalProtocol"/> to the options given.</summary>
    public const string OriginalProtocol = "original";
    /// <summary>The GA4 event that counts as engagement under <see cref="EngagementEvents.UserEngagement"/>.</summary>
    public const string UserEngagementEventName = "user_engagement";

    private const double MicrosecondsPerSecond = 1_000_000;

    /// <param name="protocol"><see cref="DefaultProtocol"/> (the options as given) or <see cref="OriginalProtocol"/>
    /// (the options with the original project's choices forced); recorded in the summary. The dataset's
    /// <see cref="PreparedDataset.Options"/> are the options actually used.</param>
    /// <exception cref="InvalidInputException">Unknown protocol or invalid options.</exception>
    public static PreparedDataset Prepare(EventTable events, PredictionTask task, PrepareOptions options, string protocol)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);
        var effective = protocol switch
        {
            DefaultProtocol => options,
            OriginalProtocol => options.AsOriginalProtocol(),
            _ => throw new InvalidInputException(
                $"Unknown protocol \"{protocol}\"; allowed: {DefaultProtocol}, {OriginalProtocol}."),
        };
        PrepareOptionsFile.Validate(effective);

        var found = task switch
        {
            PredictionTask.Events => FindSessionSequences(events, effective),
            PredictionTask.Churn => FindUserSequences(events, effective),
            _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown prediction task."),
        };
        var ids = SequenceIds(events, task, found.Candidates);
        var splits = AssignSplits(events, task, effective, found.Candidates, ids);

        var vocabulary = BuildVocabulary(events, task, found, splits[(int)SplitPart.Train]);
        var tokenOfName = events.EventNames.Select(vocabulary.Encode).ToArray();
        var examples = new SequenceExample[splits.Length][];
        for (var part = 0; part < splits.Length; part++)
        {
            var candidates = splits[part];
            var encoded = examples[part] = new SequenceExample[candidates.Count];
            // Encoding is most of the work (an array pair per sequence); each index is written by one thread.
            Parallel.For(0, encoded.Length, i =>
                encoded[i] = Encode(events, task, found.Rows, found.Candidates[candidates[i]], ids[candidates[i]], tokenOfName));
        }
        var unknownTargets = task == PredictionTask.Events
            ? examples.Sum(part => part.LongCount(e => e.Label == Vocabulary.Unk))
            : 0;

        var summary = new PrepareSummary
        {
            Task = TaskName(task),
            Protocol = protocol,
            RowsRead = events.Report.RowsRead,
            RowsRejected = events.Report.RowsRejected,
            RowsRejectedByReason = events.Report.RejectedByReason.ToDictionary(
                r => JsonNamingPolicy.SnakeCaseLower.ConvertName(r.Key.ToString()), r => r.Value),
            Users = events.Users.Count,
            Sessions = found.Sessions,
            EventNames = NameCounts(events, CountRowsByName(events)),
            Sequences = found.Candidates.Count,
            SessionsTooShort = found.SessionsTooShort,
            SequencesTruncated = found.Truncated,
            UnknownTargets = unknownTargets,
            Labels = task == PredictionTask.Churn
                ? found.ChurnCounts!
                : NameCounts(events, CountTargetsByName(events, found.Candidates)),
            Splits = new SplitSizes(examples[0].Length, examples[1].Length, examples[2].Length),
        };
        return new PreparedDataset(task, effective, vocabulary, examples[0], examples[1], examples[2], summary);
    }

    /// <summary>The task's name in summaries and dataset manifests.</summary>
    public static string TaskName(PredictionTask task) => PredictionTasks.Name(task);

    /// <summary>
    /// A sequence before encoding: its input is <c>Rows[Start .. Start + Length]</c> of the user event order, already
    /// cut to the maximum length. <see cref="Label"/> is the target's event-name index (events) or 0/1 (churn).
    /// </summary>
    private readonly record struct Candidate(int User, long Session, int Start, int Length, int Label);

    private sealed record FoundSequences(
        int[] Rows,
        List<Candidate> Candidates,
        long Sessions,
        long SessionsTooShort,
        long Truncated,
        ChurnLabelCounts? ChurnCounts);

    private static FoundSequences FindSessionSequences(EventTable events, PrepareOptions options)
    {
        var order = UserEventOrder.Build(events, UserEventOrder.Grouping.SessionThenTime);
        var rows = order.Rows;
        var session = events.GaSessionId;
        var name = events.NameIndex;
        var candidates = new List<Candidate>();
        long sessions = 0, tooShort = 0, truncated = 0;
        for (var user = 0; user < events.Users.Count; user++)
        {
            var userEnd = order.UserStart[user + 1];
            for (var start = order.UserStart[user]; start < userEnd;)
            {
                var sessionId = session[rows[start]];
                var end = start + 1;
                while (end < userEnd && session[rows[end]] == sessionId) end++;
                sessions++;
                var inputLength = end - start - 1;
                if (inputLength < 1)
                {
                    tooShort++;
                }
                else
                {
                    var inputStart = start;
                    if (inputLength > options.MaxSequenceLength)
                    {
                        inputStart += inputLength - options.MaxSequenceLength;
                        inputLength = options.MaxSequenceLength;
                        truncated++;
                    }
                    candidates.Add(new Candidate(user, sessionId, inputStart, inputLength, name[rows[end - 1]]));
                }
                start = end;
            }
        }
        return new FoundSequences(rows, candidates, sessions, tooShort, truncated, null);
    }

    private enum ChurnOutcome
    {
        NoEngagement,
        Censored,
        Bounced,
        Churned,
        Returned,
    }

    private static FoundSequences FindUserSequences(EventTable events, PrepareOptions options)
    {
        var order = UserEventOrder.Build(events, UserEventOrder.Grouping.Time);
        var rows = order.Rows;
        var timestamp = events.Timestamp;
        var name = events.NameIndex;
        var horizon = Microseconds(options.ChurnHorizonHours * 3600);
        var bounce = Microseconds(options.BounceMinutes * 60);
        var endOfData = events.Count == 0 ? 0 : MaxOf(timestamp);
        // -1: every event is engagement; otherwise the name index of user_engagement (int.MinValue if it never occurs).
        var engagementName = options.EngagementEvents == EngagementEvents.All ? -1
            : IndexOfName(events, UserEngagementEventName) is var i and >= 0 ? i : int.MinValue;

        var candidates = new List<Candidate>();
        var outcomes = new long[Enum.GetValues<ChurnOutcome>().Length];
        long truncated = 0;
        var sessions = CountSessions(events, order);
        for (var user = 0; user < events.Users.Count; user++)
        {
            var userStart = order.UserStart[user];
            var userRows = rows.AsSpan(userStart, order.UserStart[user + 1] - userStart);

            // Rows are in time order, so the first engagement seen is the earliest and the last the latest.
            long first = 0, last = 0;
            var engaged = false;
            foreach (var row in userRows)
            {
                if (engagementName != -1 && name[row] != engagementName) continue;
                if (!engaged) first = timestamp[row];
                last = timestamp[row];
                engaged = true;
            }

            var outcome = !engaged ? ChurnOutcome.NoEngagement
                : options.CensorRecentUsers && first > endOfData - horizon ? ChurnOutcome.Censored
                : last - first <= bounce ? ChurnOutcome.Bounced
                : last - first < horizon ? ChurnOutcome.Churned
                : ChurnOutcome.Returned;
            outcomes[(int)outcome]++;
            var label = outcome switch
            {
                ChurnOutcome.Churned => 1,
                ChurnOutcome.Returned => 0,
                ChurnOutcome.Bounced when options.BouncedUsers == BouncedUsers.NotChurned => 0,
                _ => -1,
            };
            if (label < 0) continue;

            var windowLength = userRows.Length;
            if (options.ChurnWindow == ChurnWindow.Horizon)
            {
                windowLength = 0;
                while (windowLength < userRows.Length && timestamp[userRows[windowLength]] < first + horizon)
                    windowLength++;
            }
            var inputStart = userStart;
            if (windowLength > options.MaxSequenceLength)
            {
                inputStart += windowLength - options.MaxSequenceLength;
                windowLength = options.MaxSequenceLength;
                truncated++;
            }
            candidates.Add(new Candidate(user, 0, inputStart, windowLength, label));
        }

        var counts = new ChurnLabelCounts(
            outcomes[(int)ChurnOutcome.Churned], outcomes[(int)ChurnOutcome.Returned],
            outcomes[(int)ChurnOutcome.Bounced], outcomes[(int)ChurnOutcome.Censored])
        {
            NoEngagement = outcomes[(int)ChurnOutcome.NoEngagement],
        };
        return new FoundSequences(rows, candidates, sessions, 0, truncated, counts);
    }

    /// <summary>Distinct (user, ga_session_id) pairs. The rows are in time order, not session order, so each user's
    /// session ids are sorted to be counted: that is a sort of the whole table, shared out between threads.</summary>
    private static long CountSessions(EventTable events, UserEventOrder order)
    {
        long sessions = 0;
        var userCount = events.Users.Count;
        if (userCount == 0) return 0;
        var usersPerRange = Math.Max(4096, userCount / (8 * Environment.ProcessorCount));
        Parallel.ForEach(Partitioner.Create(0, userCount, usersPerRange), range =>
        {
            var session = events.GaSessionId;
            var scratch = new long[16];
            long rangeSessions = 0;
            for (var user = range.Item1; user < range.Item2; user++)
            {
                var userStart = order.UserStart[user];
                var userRows = order.Rows.AsSpan(userStart, order.UserStart[user + 1] - userStart);
                rangeSessions += CountDistinctSessions(userRows, session, ref scratch);
            }
            Interlocked.Add(ref sessions, rangeSessions);
        });
        return sessions;
    }

    private static long CountDistinctSessions(ReadOnlySpan<int> userRows, ReadOnlySpan<long> session, ref long[] scratch)
    {
        if (scratch.Length < userRows.Length) scratch = new long[Math.Max(userRows.Length, scratch.Length * 2)];
        var ids = scratch.AsSpan(0, userRows.Length);
        for (var i = 0; i < userRows.Length; i++) ids[i] = session[userRows[i]];
        ids.Sort();
        long distinct = 0;
        for (var i = 0; i < ids.Length; i++)
            if (i == 0 || ids[i] != ids[i - 1]) distinct++;
        return distinct;
    }

    private static string[] SequenceIds(EventTable events, PredictionTask task, List<Candidate> candidates)
    {
        var ids = new string[candidates.Count];
        // Formatting a million "user:session" strings is worth sharing out between threads.
        Parallel.For(0, ids.Length, i =>
        {
            var user = events.Users[candidates[i].User];
            ids[i] = task == PredictionTask.Churn ? user : $"{user}:{candidates[i].Session}";
        });
        return ids;
    }

    /// <summary>Candidate indexes of each split (train, validation, test), in the seeded shuffled order.</summary>
    private static List<int>[] AssignSplits(EventTable events, PredictionTask task, PrepareOptions options,
        List<Candidate> candidates, string[] ids)
    {
        // Units: one per candidate (row mode), or one per user with all their candidates (contiguous, user mode).
        var unitStart = new List<int>();
        for (var c = 0; c < candidates.Count; c++)
            if (options.SplitMode == SplitMode.Row || c == 0 || candidates[c].User != candidates[c - 1].User)
                unitStart.Add(c);
        unitStart.Add(candidates.Count);
        var unitCount = unitStart.Count - 1;
        var keys = new string[unitCount];
        var weights = new int[unitCount];
        for (var u = 0; u < unitCount; u++)
        {
            var first = unitStart[u];
            keys[u] = options.SplitMode == SplitMode.Row ? ids[first] : events.Users[candidates[first].User];
            weights[u] = unitStart[u + 1] - first;
        }

        var shuffled = SplitAssigner.ShuffledOrder(keys, options.Seed);
        var parts = new SplitPart[unitCount];
        if (task == PredictionTask.Churn && options.SplitMode == SplitMode.User)
        {
            // Stratified: each label is dealt separately, so each split gets the same share of churned users.
            foreach (var label in new[] { 0, 1 })
            {
                var units = Enumerable.Range(0, unitCount).Where(u => candidates[unitStart[u]].Label == label).ToArray();
                var labelParts = SplitAssigner.Assign(
                    units.Select(u => keys[u]).ToArray(), units.Select(u => weights[u]).ToArray(), options.Split, options.Seed);
                for (var i = 0; i < units.Length; i++) parts[units[i]] = labelParts[i];
            }
        }
        else
        {
            parts = SplitAssigner.Assign(shuffled, weights, options.Split);
        }

        var splits = new[] { new List<int>(), new List<int>(), new List<int>() };
        foreach (var unit in shuffled)
            for (var c = unitStart[unit]; c < unitStart[unit + 1]; c++)
                splits[(int)parts[unit]].Add(c);
        return splits;
    }

    private static Vocabulary BuildVocabulary(EventTable events, PredictionTask task, FoundSequences found,
        List<int> train)
    {
        var counts = new long[events.EventNames.Count];
        var name = events.NameIndex;
        foreach (var c in train)
        {
            var candidate = found.Candidates[c];
            foreach (var row in found.Rows.AsSpan(candidate.Start, candidate.Length)) counts[name[row]]++;
            // The events task predicts names, so a name seen only as a training target must be a token too.
            if (task == PredictionTask.Events) counts[candidate.Label]++;
        }
        return Vocabulary.FromCounts(Enumerable.Range(0, counts.Length)
            .Where(n => counts[n] > 0)
            .Select(n => KeyValuePair.Create(events.EventNames[n], counts[n])));
    }

    private static SequenceExample Encode(EventTable events, PredictionTask task, int[] rows, Candidate candidate,
        string id, int[] tokenOfName)
    {
        var name = events.NameIndex;
        var timestamp = events.Timestamp;
        var input = rows.AsSpan(candidate.Start, candidate.Length);
        var tokens = new int[input.Length];
        var gaps = new float[input.Length];
        for (var i = 0; i < input.Length; i++)
        {
            tokens[i] = tokenOfName[name[input[i]]];
            if (i > 0) gaps[i] = (float)((timestamp[input[i]] - timestamp[input[i - 1]]) / MicrosecondsPerSecond);
        }
        var label = task == PredictionTask.Events ? tokenOfName[candidate.Label] : candidate.Label;
        return new SequenceExample(id, events.Users[candidate.User], tokens, gaps, label);
    }

    private static long[] CountRowsByName(EventTable events)
    {
        var counts = new long[events.EventNames.Count];
        foreach (var n in events.NameIndex) counts[n]++;
        return counts;
    }

    private static long[] CountTargetsByName(EventTable events, List<Candidate> candidates)
    {
        var counts = new long[events.EventNames.Count];
        foreach (var candidate in candidates) counts[candidate.Label]++;
        return counts;
    }

    /// <summary>Name → count, most frequent first (ties by name), leaving out zeros.</summary>
    private static Dictionary<string, long> NameCounts(EventTable events, long[] countByName) =>
        Enumerable.Range(0, countByName.Length)
            .Where(n => countByName[n] > 0)
            .OrderByDescending(n => countByName[n])
            .ThenBy(n => events.EventNames[n], StringComparer.Ordinal)
            .ToDictionary(n => events.EventNames[n], n => countByName[n]);

    private static int IndexOfName(EventTable events, string eventName)
    {
        for (var n = 0; n < events.EventNames.Count; n++)
            if (events.EventNames[n] == eventName) return n;
        return -1;
    }

    private static long MaxOf(ReadOnlySpan<long> values)
    {
        var max = long.MinValue;
        foreach (var value in values) max = Math.Max(max, value);
        return max;
    }

    private static long Microseconds(double seconds) => (long)Math.Round(seconds * MicrosecondsPerSecond);
}
