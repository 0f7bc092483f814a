using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

public static partial class DatasetPreparer
{
    /// <summary>
    /// The scoring candidates of the users of <paramref name="shard"/> (<paramref name="events"/> holds only theirs),
    /// found with the same rules as the training labels (<see cref="PrepareShard"/>, default protocol):
    /// <list type="bullet">
    /// <item>Churn: engagement, bouncing and the input window exactly as for training; users with no engagement
    /// event and bounced users are left out (counted) whatever <see cref="PrepareOptions.BouncedUsers"/> says —
    /// a bounced user is not predicted, they are gone. Whether a candidate's window is complete needs the end of
    /// the whole data: <see cref="ScoringShard.IsScored"/>.</item>
    /// <item>Next event: each user's latest session (the one holding the user's latest event; ties: the larger
    /// <c>ga_session_id</c>), all its events in the product's event order, the last
    /// <see cref="PrepareOptions.MaxSequenceLength"/> kept. A one-event session is scored too.</item>
    /// </list>
    /// </summary>
    /// <exception cref="InvalidInputException">Invalid options.</exception>
    public static ScoringShard PrepareScoringShard(EventTable events, PredictionTask task, PrepareOptions options,
        UserShard shard)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);
        PrepareOptionsFile.Validate(options);
        var maxTimestamp = events.Count == 0 ? (long?)null : MaxOf(events.Timestamp);
        // A signals model's options ask for its signals: read for each input event as training reads them.
        var signals = SignalPlan.For(options.SignalSet, events);
        if (task == PredictionTask.Churn)
        {
            // Bounced users are excluded (never labelled 0): the candidates are then exactly the training sequences.
            var found = FindUserSequences(events, options with { BouncedUsers = BouncedUsers.Exclude });
            var sequences = new ScoringSequence[found.Candidates.Count];
            Parallel.For(0, sequences.Length, i =>
            {
                var s = ToSequence(events, task, found.Rows, found.Candidates[i], signals);
                sequences[i] = new ScoringSequence(s.User, s.Names, s.GapSeconds, s.FirstEngagement, s.Signals);
            });
            return new ScoringShard
            {
                Shard = shard.Index, ShardCount = shard.Count, Task = task, Options = options,
                MaxTimestamp = maxTimestamp, EventNames = events.EventNames.ToArray(), Users = events.Users.Count,
                NoEngagement = found.NoEngagement,
                Bounced = found.EngagedUsers.LongCount(u => u.Outcome == ShardChurnOutcome.Bounced),
                Sequences = sequences, SignalValues = signals?.Values,
            };
        }
        if (task != PredictionTask.Events)
            throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown prediction task.");
        return new ScoringShard
        {
            Shard = shard.Index, ShardCount = shard.Count, Task = task, Options = options,
            MaxTimestamp = maxTimestamp, EventNames = events.EventNames.ToArray(), Users = events.Users.Count,
            Sequences = LatestSessions(events, options, signals), SignalValues = signals?.Values,
        };
    }

    private static ScoringSequence[] LatestSessions(EventTable events, PrepareOptions options, SignalPlan? signals)
    {
        var order = UserEventOrder.Build(events, UserEventOrder.Grouping.SessionThenTime);
        var rows = order.Rows;
        var sequences = new ScoringSequence[events.Users.Count];
        Parallel.For(0, sequences.Length, user =>
        {
            var session = events.GaSessionId;
            var timestamp = events.Timestamp;
            var name = events.NameIndex;
            var userEnd = order.UserStart[user + 1];
            // Sessions are contiguous and each is in event order, so a session's last row is its latest event.
            int bestStart = -1, bestEnd = -1;
            for (var start = order.UserStart[user]; start < userEnd;)
            {
                var end = start + 1;
                while (end < userEnd && session[rows[end]] == session[rows[start]]) end++;
                if (bestStart < 0 || timestamp[rows[end - 1]] > timestamp[rows[bestEnd - 1]]
                    || (timestamp[rows[end - 1]] == timestamp[rows[bestEnd - 1]] && session[rows[start]] > session[rows[bestStart]]))
                    (bestStart, bestEnd) = (start, end);
                start = end;
            }
            var inputStart = Math.Max(bestStart, bestEnd - options.MaxSequenceLength);
            var length = bestEnd - inputStart;
            var names = new int[length];
            var gaps = new float[length];
            for (var i = 0; i < length; i++)
            {
                var row = rows[inputStart + i];
                names[i] = name[row];
                if (i > 0) gaps[i] = (float)((timestamp[row] - timestamp[rows[inputStart + i - 1]]) / MicrosecondsPerSecond);
            }
            sequences[user] = new ScoringSequence(events.Users[user], names, gaps, 0,
                signals is null ? null : SignalsOf(signals, rows.AsSpan(inputStart, length)));
        });
        return sequences;
    }
}
