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
/// <item>Holdout (<see cref="PrepareOptions.HoldoutDays"/>): after the split, the train and validation sequences whose
/// time (<see cref="SequenceExample.Time"/>) is at or after the end of the data − holdout_days move to
/// <see cref="PreparedDataset.ValidationRecent"/>; test is untouched. Skipped when the data spans no more than
/// <see cref="PrepareOptions.HoldoutSpanFactor"/> holdouts.</item>
/// <item>Vocabulary: <c>&lt;PAD&gt;</c>, <c>&lt;UNK&gt;</c>, then the event names of the training split (inputs and,
/// for the events task, targets) by descending count.</item>
/// </list>
/// </summary>
public static partial class DatasetPreparer
{
    public const string DefaultProtocol = "default";
    /// <summary>Applies <see cref="PrepareOptions.AsOriginalProtocol"/> to the options given.</summary>
    public const string OriginalProtocol = "original";
    /// <summary>The GA4 event that counts as engagement under <see cref="EngagementEvents.UserEngagement"/>.</summary>
    public const string UserEngagementEventName = "user_engagement";

    private const double MicrosecondsPerSecond = 1_000_000;

    /// <summary>The signals a reader must read for a prepare with these options and protocol (none under the original
    /// protocol, which is names only).</summary>
    public static SignalSet SignalsToRead(PrepareOptions options, string protocol) =>
        protocol == OriginalProtocol ? SignalSet.None : (options ?? throw new ArgumentNullException(nameof(options))).SignalSet;

    /// <param name="protocol"><see cref="DefaultProtocol"/> (the options as given) or <see cref="OriginalProtocol"/>
    /// (the options with the original project's choices forced); recorded in the summary. The dataset's
    /// <see cref="PreparedDataset.Options"/> are the options actually used.</param>
    /// <exception cref="InvalidInputException">Unknown protocol or invalid options.</exception>
    public static PreparedDataset Prepare(EventTable events, PredictionTask task, PrepareOptions options, string protocol) =>
        // One shard holding every user: the unsharded prepare is the sharded one with N = 1, so the two cannot drift.
        Merge([PrepareShard(events, task, options, protocol, UserShard.Whole)]);

    /// <summary>
    /// The per-user part of <see cref="Prepare"/> for the users of <paramref name="shard"/> (<paramref name="events"/>
    /// holds only theirs: see <see cref="EventTableBuilder.Shard"/>): sessions, churn outcomes before censoring,
    /// windows, truncation and gaps. <see cref="Merge"/> of every shard's part equals <see cref="Prepare"/> of the
    /// whole table.
    /// </summary>
    /// <exception cref="InvalidInputException">Unknown protocol or invalid options.</exception>
    public static PreparedShard PrepareShard(EventTable events, PredictionTask task, PrepareOptions options, string protocol,
        UserShard shard)
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
        var candidates = found.Candidates;
        var signals = SignalPlan.For(effective.SignalSet, events);
        var sequences = new ShardSequence[candidates.Count];
        // An array pair per sequence is most of the work; each index is written by one thread.
        // Churn under the horizon window: the input window ends at first engagement + horizon, whatever the last event.
        long? windowEnd = task == PredictionTask.Churn && effective.ChurnWindow == ChurnWindow.Horizon
            ? Microseconds(effective.ChurnHorizonHours * 3600)
            : null;
        Parallel.For(0, sequences.Length, i => sequences[i] = ToSequence(events, task, found.Rows, candidates[i], signals, windowEnd));
        return new PreparedShard
        {
            Shard = shard.Index,
            ShardCount = shard.Count,
            Task = task,
            Protocol = protocol,
            Options = effective,
            RowsRead = events.Report.RowsRead,
            RejectedByReason = new Dictionary<RejectReason, long>(events.Report.RejectedByReason),
            Users = events.Users.Count,
            Sessions = found.Sessions,
            SessionsTooShort = found.SessionsTooShort,
            MaxTimestamp = events.Count == 0 ? null : MaxOf(events.Timestamp),
            MinTimestamp = events.Count == 0 ? null : MinOf(events.Timestamp),
            EventNames = events.EventNames.ToArray(),
            EventNameRows = CountRowsByName(events),
            NoEngagement = found.NoEngagement,
            EngagedUsers = found.EngagedUsers,
            Sequences = sequences,
            SignalValues = signals?.Values,
        };
    }

    /// <summary>Where each signal of the options is in the table's signal columns, split as
    /// <see cref="ShardSignals"/> holds them: event categorical, numeric, user categorical.</summary>
    private sealed record SignalPlan(EventSignals Table, int[] EventCategorical, int[] Numeric, int[] User,
        IReadOnlyList<IReadOnlyList<string>> Values)
    {
        public static SignalPlan? For(SignalSet set, EventTable events)
        {
            if (set.IsEmpty) return null;
            var table = events.Signals;
            var lacking = set.Fields.Where(f => table is null || table.Fields.IndexOf(f) < 0).ToArray();
            if (table is null || lacking.Length > 0)
                throw new InvalidInputException(
                    $"The prepare options ask for signals the events were read without ({string.Join(", ", lacking.Select(Events.Signals.Name))}): " +
                    "read the export with the same signals.");
            int[] Where(Func<SignalField, bool> keep) => set.Fields.Where(keep).Select(table.Fields.IndexOf).ToArray();
            bool Categorical(SignalField f) => Events.Signals.KindOf(f) == SignalKind.Categorical;
            bool UserScope(SignalField f) => Events.Signals.ScopeOf(f) == SignalScope.User;
            return new SignalPlan(table,
                Where(f => Categorical(f) && !UserScope(f)),
                Where(f => !Categorical(f)),
                Where(f => Categorical(f) && UserScope(f)),
                set.Categorical.Select(f => table.Values[table.Fields.IndexOf(f)]).ToArray());
        }

        /// <summary>The value lists of <see cref="Values"/> (set.Categorical order) that event field e / user field u use.</summary>
        public static int[] CategoricalOrder(SignalSet set, bool user) =>
            set.Categorical.Select((f, i) => (f, i)).Where(p => (Events.Signals.ScopeOf(p.f) == SignalScope.User) == user)
                .Select(p => p.i).ToArray();
    }

    /// <summary>
    /// Joins the parts of every shard of one prepare (any order) into the dataset: churn users first engaged less
    /// than the horizon before the end of the data (the latest event of any shard) are censored, the split is dealt
    /// over all users by the seeded hash of their ids, the vocabulary is counted over the training split of every
    /// shard, and the sequences are encoded with it.
    /// </summary>
    /// <exception cref="ArgumentException">The parts are not exactly shards 0..N-1 of one prepare (same task, protocol
    /// and options).</exception>
    public static PreparedDataset Merge(IReadOnlyList<PreparedShard> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        CheckShards(shards);
        var first = shards[0];
        var task = first.Task;
        var options = first.Options;

        // Global event names (the shards' own indexes are mapped to them) and rows per name.
        var nameIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        var rowsByName = new List<long>();
        var globalName = new int[shards.Count][];
        for (var s = 0; s < shards.Count; s++)
        {
            var shardNames = shards[s].EventNames;
            var map = globalName[s] = new int[shardNames.Count];
            for (var n = 0; n < shardNames.Count; n++)
            {
                if (!nameIds.TryGetValue(shardNames[n], out var id))
                {
                    nameIds.Add(shardNames[n], id = names.Count);
                    names.Add(shardNames[n]);
                    rowsByName.Add(0);
                }
                map[n] = id;
                rowsByName[id] += shards[s].EventNameRows[n];
            }
        }

        // Censoring needs the end of the whole data, so it happens here, before anything else looks at the users.
        var endOfData = shards.Max(p => p.MaxTimestamp) ?? 0;
        var horizon = Microseconds(options.ChurnHorizonHours * 3600);
        var censor = task == PredictionTask.Churn && options.CensorRecentUsers;
        bool Censored(long firstEngagement) => censor && firstEngagement > endOfData - horizon;

        var kept = new List<(int Shard, ShardSequence Sequence)>();
        long truncated = 0;
        for (var s = 0; s < shards.Count; s++)
            foreach (var sequence in shards[s].Sequences)
            {
                if (task == PredictionTask.Churn && Censored(sequence.FirstEngagement)) continue;
                kept.Add((s, sequence));
                if (sequence.Truncated) truncated++;
            }

        var splits = AssignSplits(task, options, kept);
        var startOfData = shards.Min(p => p.MinTimestamp) ?? 0;
        var recentFrom = HoldOutRecent(options, kept, splits, startOfData, endOfData);
        var vocabulary = BuildVocabulary(task, kept, splits[(int)SplitPart.Train], globalName, names);
        var tokenOfName = names.Select(vocabulary.Encode).ToArray();
        var signalEncoding = FitSignals(options, shards, kept, splits[(int)SplitPart.Train]);
        var examples = new SequenceExample[splits.Count][];
        for (var part = 0; part < splits.Count; part++)
        {
            var members = splits[part];
            var encoded = examples[part] = new SequenceExample[members.Count];
            Parallel.For(0, encoded.Length, i =>
            {
                var (s, sequence) = kept[members[i]];
                encoded[i] = Encode(task, sequence, globalName[s], tokenOfName);
                if (signalEncoding is not null)
                    encoded[i] = encoded[i] with { Signals = EncodeSignals(signalEncoding, sequence.Signals!, shards[s].SignalValues!) };
            });
        }
        if (signalEncoding is not null && options.SignalDropout is > 0 and var dropout)
            DropSignals(examples[(int)SplitPart.Train], signalEncoding, dropout, options.Seed);
        var unknownTargets = task == PredictionTask.Events
            ? examples.Sum(part => part.LongCount(e => e.Label == Vocabulary.Unk))
            : 0;

        var rejectedByReason = new Dictionary<RejectReason, long>();
        foreach (var shard in shards)
            foreach (var (reason, count) in shard.RejectedByReason)
                rejectedByReason[reason] = rejectedByReason.GetValueOrDefault(reason) + count;
        object labels;
        if (task == PredictionTask.Churn)
        {
            var outcomes = new long[Enum.GetValues<ShardChurnOutcome>().Length];
            long censored = 0;
            foreach (var user in shards.SelectMany(p => p.EngagedUsers))
                if (Censored(user.FirstEngagement)) censored++;
                else outcomes[(int)user.Outcome]++;
            labels = new ChurnLabelCounts(outcomes[(int)ShardChurnOutcome.Churned],
                outcomes[(int)ShardChurnOutcome.Returned], outcomes[(int)ShardChurnOutcome.Bounced], censored)
            {
                NoEngagement = shards.Sum(p => p.NoEngagement),
            };
        }
        else
        {
            var targets = new long[names.Count];
            foreach (var (s, sequence) in kept) targets[globalName[s][sequence.Label]]++;
            labels = NameCounts(names, targets);
        }

        var summary = new PrepareSummary
        {
            Task = TaskName(task),
            Protocol = first.Protocol,
            RowsRead = shards.Sum(p => p.RowsRead),
            RowsRejected = rejectedByReason.Values.Sum(),
            RowsRejectedByReason = rejectedByReason.ToDictionary(
                r => JsonNamingPolicy.SnakeCaseLower.ConvertName(r.Key.ToString()), r => r.Value),
            Users = shards.Sum(p => p.Users),
            Sessions = shards.Sum(p => p.Sessions),
            EventNames = NameCounts(names, rowsByName.ToArray()),
            Sequences = kept.Count,
            SessionsTooShort = shards.Sum(p => p.SessionsTooShort),
            SequencesTruncated = truncated,
            UnknownTargets = unknownTargets,
            Labels = labels,
            Splits = new SplitSizes(examples[0].Length, examples[1].Length, examples[2].Length)
            {
                ValidationRecent = examples[RecentPart].Length,
            },
            ValidationRecentFrom = recentFrom is { } from ? from / (long)MicrosecondsPerSecond : null,
        };
        return new PreparedDataset(task, options, vocabulary, examples[0], examples[1], examples[2], summary, signalEncoding)
        {
            ValidationRecent = examples[RecentPart],
        };
    }

    /// <summary><c>signal_dropout</c>: the share <paramref name="dropout"/> of <paramref name="train"/>, picked by the
    /// seeded hash of each example's id (so any sharding picks the same ones), gets the signals serving encodes for a
    /// request without any (<see cref="SignalInputs.Encode"/> of none), so training sees exactly that input.</summary>
    private static void DropSignals(SequenceExample[] train, SignalEncoding encoding, double dropout, int seed)
    {
        // Another stream than the split's hash of the same ids, so the dropped examples are not a slice of the split order.
        var dropSeed = seed ^ 0x5D1A7;
        Parallel.For(0, train.Length, i =>
        {
            var example = train[i];
            if (SplitAssigner.StableHash(example.Id, dropSeed) / 18446744073709551616.0 < dropout)
                train[i] = example with { Signals = SignalInputs.Encode(encoding, null, example.Tokens.Length) };
        });
    }

    private static void CheckShards(IReadOnlyList<PreparedShard> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("No shards to merge.", nameof(shards));
        var first = shards[0];
        var seen = new bool[first.ShardCount];
        foreach (var shard in shards)
        {
            if (shard.ShardCount != first.ShardCount || shard.Task != first.Task || shard.Protocol != first.Protocol
                || shard.Options != first.Options)
                throw new ArgumentException(
                    $"Shard {shard.Shard}/{shard.ShardCount} is of another prepare than shard {first.Shard}/{first.ShardCount}.",
                    nameof(shards));
            if ((uint)shard.Shard >= (uint)seen.Length || seen[shard.Shard])
                throw new ArgumentException($"Shard {shard.Shard} of {shard.ShardCount} is out of range or given twice.",
                    nameof(shards));
            seen[shard.Shard] = true;
        }
        if (shards.Count != first.ShardCount)
            throw new ArgumentException($"{shards.Count} of {first.ShardCount} shards given; every shard is needed.",
                nameof(shards));
    }

    /// <summary>The task's name in summaries and dataset manifests.</summary>
    public static string TaskName(PredictionTask task) => PredictionTasks.Name(task);

    // A sequence found in a table: its input is Rows[Start .. Start + Length] of the user event order, already cut to
    // the maximum length. Label is the target's event-name index (events) or 0/1 (churn).

    /// <param name="FirstEngagement">Churn: the user's first engagement (µs), for censoring at the merge.</param>
    private readonly record struct Candidate(int User, long Session, int Start, int Length, int Label, bool Truncated,
        long FirstEngagement = 0);

    private sealed record FoundSequences(
        int[] Rows,
        List<Candidate> Candidates,
        long Sessions,
        long SessionsTooShort,
        long NoEngagement,
        ShardUser[] EngagedUsers);

    private static FoundSequences FindSessionSequences(EventTable events, PrepareOptions options)
    {
        var order = UserEventOrder.Build(events, UserEventOrder.Grouping.SessionThenTime);
        var rows = order.Rows;
        var session = events.GaSessionId;
        var name = events.NameIndex;
        var candidates = new List<Candidate>();
        long sessions = 0, tooShort = 0;
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
                    var truncated = inputLength > options.MaxSequenceLength;
                    if (truncated)
                    {
                        inputStart += inputLength - options.MaxSequenceLength;
                        inputLength = options.MaxSequenceLength;
                    }
                    candidates.Add(new Candidate(user, sessionId, inputStart, inputLength, name[rows[end - 1]], truncated));
                }
                start = end;
            }
        }
        return new FoundSequences(rows, candidates, sessions, tooShort, 0, []);
    }

    private static FoundSequences FindUserSequences(EventTable events, PrepareOptions options)
    {
        var order = UserEventOrder.Build(events, UserEventOrder.Grouping.Time);
        var rows = order.Rows;
        var timestamp = events.Timestamp;
        var name = events.NameIndex;
        var horizon = Microseconds(options.ChurnHorizonHours * 3600);
        var bounce = Microseconds(options.BounceMinutes * 60);
        // -1: every event is engagement; otherwise the name index of user_engagement (int.MinValue if it never occurs).
        var engagementName = options.EngagementEvents == EngagementEvents.All ? -1
            : IndexOfName(events, UserEngagementEventName) is var i and >= 0 ? i : int.MinValue;

        var candidates = new List<Candidate>();
        var engagedUsers = new List<ShardUser>();
        long noEngagement = 0;
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

            if (!engaged)
            {
                noEngagement++;
                continue;
            }
            // Censoring (checked before bouncing) needs the end of the whole data: the merge applies it.
            var outcome = last - first <= bounce ? ShardChurnOutcome.Bounced
                : last - first < horizon ? ShardChurnOutcome.Churned
                : ShardChurnOutcome.Returned;
            engagedUsers.Add(new ShardUser(first, outcome));
            var label = outcome switch
            {
                ShardChurnOutcome.Churned => 1,
                ShardChurnOutcome.Returned => 0,
                ShardChurnOutcome.Bounced when options.BouncedUsers == BouncedUsers.NotChurned => 0,
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
            var truncated = windowLength > options.MaxSequenceLength;
            if (truncated)
            {
                inputStart += windowLength - options.MaxSequenceLength;
                windowLength = options.MaxSequenceLength;
            }
            candidates.Add(new Candidate(user, 0, inputStart, windowLength, label, truncated, first));
        }
        return new FoundSequences(rows, candidates, sessions, 0, noEngagement, engagedUsers.ToArray());
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

    /// <param name="horizon">Churn under the horizon window: the horizon (µs), the example's time being first
    /// engagement + horizon; null: the example's time is its last input event's.</param>
    private static ShardSequence ToSequence(EventTable events, PredictionTask task, int[] rows, Candidate candidate,
        SignalPlan? signals, long? horizon)
    {
        var name = events.NameIndex;
        var timestamp = events.Timestamp;
        var input = rows.AsSpan(candidate.Start, candidate.Length);
        var names = new int[input.Length];
        var gaps = new float[input.Length];
        for (var i = 0; i < input.Length; i++)
        {
            names[i] = name[input[i]];
            if (i > 0) gaps[i] = (float)((timestamp[input[i]] - timestamp[input[i - 1]]) / MicrosecondsPerSecond);
        }
        var user = events.Users[candidate.User];
        var id = task == PredictionTask.Churn ? user : $"{user}:{candidate.Session}";
        var time = horizon is { } h ? candidate.FirstEngagement + h : input.Length == 0 ? 0 : timestamp[input[^1]];
        return new ShardSequence(id, user, names, gaps, candidate.Label, candidate.Truncated, candidate.FirstEngagement,
            signals is null ? null : SignalsOf(signals, input), time);
    }

    /// <summary>The input events' signals (user fields: the first input event's value, which the input may see).</summary>
    private static ShardSignals SignalsOf(SignalPlan plan, ReadOnlySpan<int> input)
    {
        var categorical = new int[plan.EventCategorical.Length][];
        for (var f = 0; f < categorical.Length; f++)
        {
            var column = plan.Table.Categorical(plan.EventCategorical[f]);
            var values = categorical[f] = new int[input.Length];
            for (var i = 0; i < input.Length; i++) values[i] = column[input[i]];
        }
        var numeric = new float?[plan.Numeric.Length][];
        for (var f = 0; f < numeric.Length; f++)
        {
            var column = plan.Table.Numeric(plan.Numeric[f]);
            var values = numeric[f] = new float?[input.Length];
            for (var i = 0; i < input.Length; i++) values[i] = float.IsNaN(column[input[i]]) ? null : column[input[i]];
        }
        var user = new int[plan.User.Length];
        for (var f = 0; f < user.Length; f++) user[f] = input.Length == 0 ? Events.Signals.Missing : plan.Table.Categorical(plan.User[f])[input[0]];
        return new ShardSignals(categorical, numeric, user);
    }

    /// <summary>Indexes into <paramref name="kept"/> of each split (train, validation, test), in the seeded shuffled
    /// order. Each user's sequences are contiguous in <paramref name="kept"/> (a user is in one shard).</summary>
    private static List<List<int>> AssignSplits(PredictionTask task, PrepareOptions options,
        List<(int Shard, ShardSequence Sequence)> kept)
    {
        // Units: one per sequence (row mode), or one per user with all their sequences (contiguous, user mode).
        var unitStart = new List<int>();
        for (var c = 0; c < kept.Count; c++)
            if (options.SplitMode == SplitMode.Row || c == 0 || kept[c].Sequence.User != kept[c - 1].Sequence.User
                || kept[c].Shard != kept[c - 1].Shard)
                unitStart.Add(c);
        unitStart.Add(kept.Count);
        var unitCount = unitStart.Count - 1;
        var keys = new string[unitCount];
        var weights = new int[unitCount];
        for (var u = 0; u < unitCount; u++)
        {
            var sequence = kept[unitStart[u]].Sequence;
            keys[u] = options.SplitMode == SplitMode.Row ? sequence.Id : sequence.User;
            weights[u] = unitStart[u + 1] - unitStart[u];
        }

        var shuffled = SplitAssigner.ShuffledOrder(keys, options.Seed);
        var parts = new SplitPart[unitCount];
        if (task == PredictionTask.Churn && options.SplitMode == SplitMode.User)
        {
            // Stratified: each label is dealt separately, so each split gets the same share of churned users.
            foreach (var label in new[] { 0, 1 })
            {
                var units = Enumerable.Range(0, unitCount).Where(u => kept[unitStart[u]].Sequence.Label == label).ToArray();
                var labelParts = SplitAssigner.Assign(
                    units.Select(u => keys[u]).ToArray(), units.Select(u => weights[u]).ToArray(), options.Split, options.Seed);
                for (var i = 0; i < units.Length; i++) parts[units[i]] = labelParts[i];
            }
        }
        else
        {
            parts = SplitAssigner.Assign(shuffled, weights, options.Split);
        }

        var splits = new List<List<int>> { new(), new(), new() };
        foreach (var unit in shuffled)
            for (var c = unitStart[unit]; c < unitStart[unit + 1]; c++)
                splits[(int)parts[unit]].Add(c);
        return splits;
    }

    /// <summary>Index of the val_recent split in the lists <see cref="AssignSplits"/> and <see cref="HoldOutRecent"/>
    /// make (after train, validation, test).</summary>
    private const int RecentPart = 3;

    /// <summary>
    /// Adds the val_recent split (<see cref="RecentPart"/>) to <paramref name="splits"/>: the train and validation
    /// sequences whose time is at or after end of data − holdout_days, moved out of their split (in its order); test
    /// keeps every day. Empty when holdout_days is 0 or the data spans no more than
    /// <see cref="PrepareOptions.HoldoutSpanFactor"/> holdouts. Returns the cut (µs), null when none.
    /// </summary>
    private static long? HoldOutRecent(PrepareOptions options, List<(int Shard, ShardSequence Sequence)> kept,
        List<List<int>> splits, long startOfData, long endOfData)
    {
        var recent = new List<int>();
        splits.Add(recent);
        var holdout = Microseconds(options.HoldoutDays * 86_400);
        if (holdout <= 0 || endOfData - startOfData <= PrepareOptions.HoldoutSpanFactor * holdout) return null;
        var from = endOfData - holdout;
        foreach (var part in new[] { (int)SplitPart.Train, (int)SplitPart.Validation })
        {
            var stay = new List<int>(splits[part].Count);
            foreach (var c in splits[part])
                (kept[c].Sequence.Time >= from ? recent : stay).Add(c);
            splits[part] = stay;
        }
        return from;
    }

    private static Vocabulary BuildVocabulary(PredictionTask task, List<(int Shard, ShardSequence Sequence)> kept,
        List<int> train, int[][] globalName, List<string> names)
    {
        var counts = new long[names.Count];
        foreach (var c in train)
        {
            var (s, sequence) = kept[c];
            var map = globalName[s];
            foreach (var n in sequence.Names) counts[map[n]]++;
            // The events task predicts names, so a name seen only as a training target must be a token too.
            if (task == PredictionTask.Events) counts[map[sequence.Label]]++;
        }
        return Vocabulary.FromCounts(Enumerable.Range(0, counts.Length)
            .Where(n => counts[n] > 0)
            .Select(n => KeyValuePair.Create(names[n], counts[n])));
    }

    /// <summary>The signals' vocabularies and scalers, from the training split's sequences only.</summary>
    private static SignalEncoding? FitSignals(PrepareOptions options, IReadOnlyList<PreparedShard> shards,
        List<(int Shard, ShardSequence Sequence)> kept, List<int> train)
    {
        var set = options.SignalSet;
        if (set.IsEmpty) return null;
        var eventOrder = SignalPlan.CategoricalOrder(set, user: false);
        var userOrder = SignalPlan.CategoricalOrder(set, user: true);
        var counts = set.Categorical.Select(_ => new Dictionary<string, long>(StringComparer.Ordinal)).ToArray();
        var numbers = set.Numeric.Select(_ => new List<float>()).ToArray();
        void Count(int categoricalIndex, IReadOnlyList<string> values, int number)
        {
            if (number < Events.Signals.FirstValue) return; // markers are not values
            var value = values[number];
            counts[categoricalIndex][value] = counts[categoricalIndex].GetValueOrDefault(value) + 1;
        }
        foreach (var c in train)
        {
            var (s, sequence) = kept[c];
            var shardValues = shards[s].SignalValues!;
            var signals = sequence.Signals ?? throw new ArgumentException($"Sequence {sequence.Id} of shard {s} has no signals.", nameof(shards));
            for (var f = 0; f < eventOrder.Length; f++)
                foreach (var number in signals.Categorical[f]) Count(eventOrder[f], shardValues[eventOrder[f]], number);
            for (var f = 0; f < userOrder.Length; f++) Count(userOrder[f], shardValues[userOrder[f]], signals.User[f]);
            for (var f = 0; f < numbers.Length; f++)
                foreach (var value in signals.Numeric[f])
                    if (value is { } present) numbers[f].Add(present);
        }
        return SignalEncoding.Fit(set, counts, numbers, options.SignalVocabularySize ?? PrepareOptions.DefaultSignalVocabularySize);
    }

    /// <summary>A sequence's signals as read (<paramref name="values"/>: its shard's value lists, in
    /// <see cref="SignalSet.Categorical"/> order of the encoding's set) encoded for the model; batch scoring encodes
    /// its candidates with a checkpoint's encoding the same way.</summary>
    public static ExampleSignals EncodeSignals(SignalEncoding encoding, ShardSignals signals, IReadOnlyList<IReadOnlyList<string>> values)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(values);
        var set = encoding.Set;
        var eventOrder = SignalPlan.CategoricalOrder(set, user: false);
        var userOrder = SignalPlan.CategoricalOrder(set, user: true);
        var categorical = new int[eventOrder.Length][];
        for (var f = 0; f < categorical.Length; f++)
        {
            var feature = encoding.EventCategorical[f];
            categorical[f] = signals.Categorical[f].Select(n => encoding.Encode(feature, values[eventOrder[f]][n])).ToArray();
        }
        var numeric = new float?[signals.Numeric.Length][];
        for (var f = 0; f < numeric.Length; f++)
        {
            var feature = encoding.EventNumeric[f];
            numeric[f] = signals.Numeric[f].Select(v => v is { } x ? SignalEncoding.Scale(feature, x) : null).ToArray();
        }
        var user = new int[userOrder.Length];
        for (var f = 0; f < user.Length; f++) user[f] = encoding.Encode(encoding.UserCategorical[f], values[userOrder[f]][signals.User[f]]);
        return new ExampleSignals(categorical, numeric, user);
    }

    private static SequenceExample Encode(PredictionTask task, ShardSequence sequence, int[] globalName, int[] tokenOfName)
    {
        var tokens = new int[sequence.Names.Length];
        for (var i = 0; i < tokens.Length; i++) tokens[i] = tokenOfName[globalName[sequence.Names[i]]];
        var label = task == PredictionTask.Events ? tokenOfName[globalName[sequence.Label]] : sequence.Label;
        return new SequenceExample(sequence.Id, sequence.User, tokens, sequence.GapSeconds, label,
            Time: sequence.Time / (long)MicrosecondsPerSecond);
    }

    private static long[] CountRowsByName(EventTable events)
    {
        var counts = new long[events.EventNames.Count];
        foreach (var n in events.NameIndex) counts[n]++;
        return counts;
    }

    /// <summary>Name → count, most frequent first (ties by name), leaving out zeros.</summary>
    private static Dictionary<string, long> NameCounts(List<string> names, long[] countByName) =>
        Enumerable.Range(0, countByName.Length)
            .Where(n => countByName[n] > 0)
            .OrderByDescending(n => countByName[n])
            .ThenBy(n => names[n], StringComparer.Ordinal)
            .ToDictionary(n => names[n], n => countByName[n]);

    private static int IndexOfName(EventTable events, string eventName)
    {
        for (var n = 0; n < events.EventNames.Count; n++)
            if (events.EventNames[n] == eventName) return n;
        return -1;
    }

    private static long MinOf(ReadOnlySpan<long> values)
    {
        var min = long.MaxValue;
        foreach (var value in values) min = Math.Min(min, value);
        return min;
    }

    private static long MaxOf(ReadOnlySpan<long> values)
    {
        var max = long.MinValue;
        foreach (var value in values) max = Math.Max(max, value);
        return max;
    }

    private static long Microseconds(double seconds) => (long)Math.Round(seconds * MicrosecondsPerSecond);
}
