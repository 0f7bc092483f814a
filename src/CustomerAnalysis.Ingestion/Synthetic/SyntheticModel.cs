namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>Draws from a finite distribution given as weights (they need not sum to 1).</summary>
internal sealed class Categorical<T>
{
    private readonly T[] _values;
    private readonly double[] _cumulative;

    public Categorical(IEnumerable<(T Value, double Weight)> weights)
    {
        var kept = weights.Where(w => w.Weight > 0).ToArray();
        if (kept.Length == 0) throw new InvalidDataException("A profile distribution has no positive weight.");
        _values = kept.Select(w => w.Value).ToArray();
        _cumulative = new double[kept.Length];
        var total = 0.0;
        for (var i = 0; i < kept.Length; i++) _cumulative[i] = total += kept[i].Weight;
    }

    public T Sample(ref SyntheticRandom random)
    {
        var u = random.NextDouble() * _cumulative[^1];
        var index = Array.BinarySearch(_cumulative, u);
        index = index < 0 ? ~index : index + 1;
        return _values[Math.Min(index, _values.Length - 1)];
    }
}

/// <summary>
/// The profile turned into samplers. Content events follow the order-1 chain conditioned on the session's content
/// length (drawn from the real histogram): a plain chain ends geometrically and cannot reproduce the heavy tail of
/// real session lengths, so each step is weighted by the probability of still reaching <c>&lt;end&gt;</c> in exactly
/// the remaining steps (backward probabilities). The chain's last events are then as likely as in real sessions.
/// </summary>
internal sealed class SyntheticModel
{
    public SyntheticModel(Ga4Profile profile)
    {
        Profile = profile;
        ContentNames = profile.Transitions.Keys.Concat(profile.Transitions.Values.SelectMany(row => row.Keys))
            .Where(n => n is not Ga4Profile.StartState and not Ga4Profile.EndState)
            .Distinct().Order(StringComparer.Ordinal).ToArray();
        var n = ContentNames.Length;
        var index = ContentNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i);
        index[Ga4Profile.StartState] = n;
        index[Ga4Profile.EndState] = n;

        // _transition[from][to]: from = a name or n (start), to = a name or n (end); rows normalised.
        _transition = new double[n + 1][];
        for (var from = 0; from <= n; from++) _transition[from] = new double[n + 1];
        foreach (var (from, row) in profile.Transitions)
        {
            var total = row.Values.Sum();
            foreach (var (to, p) in row) _transition[index[from]][index[to]] = p / total;
        }

        MaxContentEvents = (int)profile.ContentEventsPerSession.Max(b => b.Max);
        _reachEnd = new double[MaxContentEvents + 1][];
        _reachEnd[0] = Enumerable.Range(0, n).Select(s => _transition[s][n]).ToArray();
        for (var k = 1; k <= MaxContentEvents; k++)
        {
            var next = new double[n];
            for (var s = 0; s < n; s++)
                for (var t = 0; t < n; t++)
                    next[s] += _transition[s][t] * _reachEnd[k - 1][t];
            // Only ratios within one k matter; rescaling keeps long lengths from underflowing.
            var max = next.Max();
            if (max > 0) for (var s = 0; s < n; s++) next[s] /= max;
            _reachEnd[k] = next;
        }

        TieGivenTransition = ContentNames.Select(from => ContentNames.Select(to =>
            profile.PTieGivenTransition.GetValueOrDefault(from)?.GetValueOrDefault(to) ?? 0).ToArray()).ToArray();
        EngagementTimeParam = ContentNames.Select(name => profile.PEngagementTimeParam.GetValueOrDefault(name)).ToArray();
        Items = ContentNames.Select(name => profile.Items.GetValueOrDefault(name)).ToArray();
        StartHour = new Categorical<int>(profile.SessionStartHourUtc.Select((p, hour) => (hour, p)));
        ContentEvents = Bins(profile.ContentEventsPerSession);
        GapSeconds = Bins(profile.GapSeconds);
        ReturnGapHours = Bins(profile.ReturnGapHours);
        ExistingUserSessionNumber = Bins(profile.ExistingUserSessionNumber);
        DeviceCategory = Shares(profile.DeviceCategory);
        OperatingSystem = Shares(profile.OperatingSystem);
        Browser = Shares(profile.Browser);
        Country = Shares(profile.Country);
        TrafficSource = new Categorical<TrafficSourceShare>(profile.TrafficSource.Select(t => (t, t.P)));
    }

    public Ga4Profile Profile { get; }
    public string[] ContentNames { get; }
    public int MaxContentEvents { get; }
    /// <summary>[from][to] content-name indexes → P(same timestamp).</summary>
    public double[][] TieGivenTransition { get; }
    public double[] EngagementTimeParam { get; }
    public ItemsShare?[] Items { get; }
    public Categorical<int> StartHour { get; }
    public Categorical<ProfileBin> ContentEvents { get; }
    public Categorical<ProfileBin> GapSeconds { get; }
    public Categorical<ProfileBin> ReturnGapHours { get; }
    public Categorical<ProfileBin> ExistingUserSessionNumber { get; }
    public Categorical<string> DeviceCategory { get; }
    public Categorical<string> OperatingSystem { get; }
    public Categorical<string> Browser { get; }
    public Categorical<string> Country { get; }
    public Categorical<TrafficSourceShare> TrafficSource { get; }

    private readonly double[][] _transition;
    private readonly double[][] _reachEnd;

    /// <summary>An integer drawn uniformly from a bin drawn from <paramref name="bins"/>.</summary>
    public static int SampleInteger(Categorical<ProfileBin> bins, ref SyntheticRandom random)
    {
        var bin = bins.Sample(ref random);
        return (int)bin.Min + (int)random.NextLong((long)(bin.Max - bin.Min) + 1);
    }

    /// <summary>A value drawn log-uniformly within a bin (gaps span six orders of magnitude).</summary>
    public static double SampleLogUniform(Categorical<ProfileBin> bins, ref SyntheticRandom random)
    {
        var bin = bins.Sample(ref random);
        var low = Math.Log(Math.Max(bin.Min, 1e-6));
        return Math.Exp(low + random.NextDouble() * (Math.Log(bin.Max) - low));
    }

    public static double SampleUniform(Categorical<ProfileBin> bins, ref SyntheticRandom random)
    {
        var bin = bins.Sample(ref random);
        return bin.Min + random.NextDouble() * (bin.Max - bin.Min);
    }

    /// <summary>Fills <paramref name="names"/> with a content-event chain of exactly its length (indexes into
    /// <see cref="ContentNames"/>).</summary>
    public void SampleChain(Span<int> names, ref SyntheticRandom random)
    {
        var n = ContentNames.Length;
        Span<double> weights = stackalloc double[n];
        var previous = n; // the start state
        for (var step = 0; step < names.Length; step++)
        {
            var remaining = names.Length - 1 - step;
            var total = 0.0;
            for (var t = 0; t < n; t++) total += weights[t] = _transition[previous][t] * _reachEnd[remaining][t];
            if (total <= 0) // no path of exactly this length from here: continue the plain chain
                for (var t = 0; t < n; t++) total += weights[t] = _transition[previous][t] + _transition[n][t] * 1e-9;
            var u = random.NextDouble() * total;
            var chosen = n - 1;
            for (var t = 0; t < n; t++)
            {
                u -= weights[t];
                if (u < 0 && weights[t] > 0) { chosen = t; break; }
            }
            names[step] = previous = chosen;
        }
    }

    private static Categorical<ProfileBin> Bins(ProfileBin[] bins) => new(bins.Select(b => (b, b.P)));

    private static Categorical<string> Shares(Dictionary<string, double> shares) =>
        new(shares.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (s.Key, s.Value)));
}
