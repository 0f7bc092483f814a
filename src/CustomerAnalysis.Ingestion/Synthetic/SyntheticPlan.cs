namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>A session decided before its events are drawn: who, when, how many events.</summary>
internal readonly record struct SessionPlan(
    int User,
    int Visit,
    long StartTimestamp,
    long FirstTouchTimestamp,
    int SessionNumber,
    int ContentEvents,
    bool HasSessionStart,
    bool HasFirstVisit)
{
    public int Events => ContentEvents + (HasSessionStart ? 1 : 0) + (HasFirstVisit ? 1 : 0);
}

/// <summary>
/// Plans users: user <c>u</c> arrives on day <c>u mod days</c> at an hour drawn from the profile, then returns
/// with the profile's probabilities and gaps until a gap leaves the export window. A user's plan depends only on
/// (seed, u, window), so the number of users that makes the requested event count can be found first by planning
/// alone, and the same plans are generated afterwards.
/// </summary>
internal sealed class UserPlanner(SyntheticModel model, int seed, long windowStart, int days)
{
    private const long MicrosPerHour = 3_600_000_000;
    private const long MicrosPerDay = 24 * MicrosPerHour;
    private const long MinimumReturnGap = 60_000_000; // one minute: sessions of a user never share a start second

    private readonly long _windowEnd = windowStart + days * MicrosPerDay;

    /// <summary>Sessions of user <paramref name="user"/> inside the window, in time order.</summary>
    public void Plan(int user, List<SessionPlan> sessions)
    {
        sessions.Clear();
        var random = new SyntheticRandom(seed, user);
        var profile = model.Profile;
        var start = windowStart + user % days * MicrosPerDay + model.StartHour.Sample(ref random) * MicrosPerHour
                    + random.NextLong(MicrosPerHour);
        var existing = random.Chance(profile.PExistingUserAtFirstSight);
        var sessionNumber = existing ? SyntheticModel.SampleInteger(model.ExistingUserSessionNumber, ref random) : 1;
        var firstTouch = existing ? start - (1 + random.NextLong(90)) * MicrosPerDay - random.NextLong(MicrosPerDay) : start;
        for (var visit = 0; ; visit++)
        {
            var content = SyntheticModel.SampleInteger(model.ContentEvents, ref random);
            var hasSessionStart = random.Chance(profile.PSessionStart);
            var hasFirstVisit = sessionNumber == 1 && random.Chance(profile.PFirstVisitInFirstSession);
            sessions.Add(new SessionPlan(user, visit, start, firstTouch, sessionNumber, content, hasSessionStart, hasFirstVisit));

            var pReturn = profile.PReturnAfterSession[Math.Min(visit, profile.PReturnAfterSession.Length - 1)];
            if (!random.Chance(pReturn)) return;
            var gap = (long)(SyntheticModel.SampleUniform(model.ReturnGapHours, ref random) * MicrosPerHour);
            start += Math.Max(gap, MinimumReturnGap);
            if (start >= _windowEnd) return;
            sessionNumber++;
        }
    }

    /// <summary>The smallest number of users whose planned events reach <paramref name="targetEvents"/>.</summary>
    public int UsersFor(long targetEvents)
    {
        var sessions = new List<SessionPlan>();
        long events = 0;
        var users = 0;
        while (events < targetEvents)
        {
            if (users == int.MaxValue) throw new InvalidOperationException("Too many users for the requested events.");
            Plan(users++, sessions);
            foreach (var session in sessions) events += session.Events;
        }
        return users;
    }
}
