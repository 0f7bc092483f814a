using System.Globalization;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>
/// Draws the events of a planned session: content names from the chain, timestamps with the profile's ties and
/// gaps, the opening events (<c>session_start</c>, <c>first_visit</c>) placed at random inside the first
/// timestamp group, one bundle id per timestamp group (as GA4 batches hits), params and items.
/// Rows come out with their timestamp groups in random order, events inside a group in chain order: like the
/// real export, the file is not sorted by time, and ordering by (event_timestamp, event_bundle_sequence_id,
/// position in the file) gives the chain order back.
/// </summary>
internal sealed class SessionBuilder(SyntheticModel model, int seed)
{
    private const string Site = "https://shop.example.com";
    private static readonly string[] Pages = ["/", "/apparel", "/lifestyle", "/stationery", "/bags", "/drinkware", "/new", "/sale"];
    private static readonly string[] Categories = ["Apparel", "Lifestyle", "Stationery", "Bags", "Drinkware", "Electronics"];
    private static readonly CatalogueItem[] Catalogue = BuildCatalogue();

    private readonly List<(string Name, long Timestamp)> _chain = [];
    private int[] _names = new int[64];

    public void Build(in SessionPlan plan, List<SyntheticEvent> output)
    {
        output.Clear();
        var random = new SyntheticRandom(seed, plan.User, 1 + plan.Visit);
        var user = CreateUser(plan);
        DrawChain(plan, ref random);

        // Group by timestamp (consecutive, as timestamps never decrease), then emit groups in random order.
        var groupStarts = new List<int>();
        for (var i = 0; i < _chain.Count; i++)
            if (i == 0 || _chain[i].Timestamp != _chain[i - 1].Timestamp) groupStarts.Add(i);
        var order = Enumerable.Range(0, groupStarts.Count).ToArray();
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = (int)random.NextLong(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var bundles = new long[groupStarts.Count];
        for (var g = 0; g < bundles.Length; g++) bundles[g] = random.NextLong(20_000_000_000) - 10_000_000_000;
        var page = Pages[random.NextLong(Pages.Length)];
        var pages = new string[_chain.Count];
        for (var i = 0; i < _chain.Count; i++)
        {
            // A page_view moves to a new page; every other event happens on the current page.
            if (_chain[i].Name == "page_view") page = Pages[random.NextLong(Pages.Length)];
            pages[i] = page;
        }

        foreach (var g in order)
        {
            var end = g + 1 < groupStarts.Count ? groupStarts[g + 1] : _chain.Count;
            for (var i = groupStarts[g]; i < end; i++)
                output.Add(CreateEvent(plan, user, i, bundles[g], pages[i], ref random));
        }
    }

    private void DrawChain(in SessionPlan plan, ref SyntheticRandom random)
    {
        _chain.Clear();
        if (_names.Length < plan.ContentEvents) _names = new int[plan.ContentEvents * 2];
        var names = _names.AsSpan(0, plan.ContentEvents);
        model.SampleChain(names, ref random);

        var timestamp = plan.StartTimestamp;
        for (var i = 0; i < names.Length; i++)
        {
            var tied = i == 0
                ? random.Chance(model.Profile.PFirstContentEventAtSessionStart)
                : random.Chance(model.TieGivenTransition[names[i - 1]][names[i]]);
            if (!tied) timestamp += Math.Max(1, (long)(SyntheticModel.SampleLogUniform(model.GapSeconds, ref random) * 1e6));
            _chain.Add((model.ContentNames[names[i]], timestamp));
        }

        // Opening events share the session's first timestamp, at a random place among that group.
        var start = plan.StartTimestamp;
        var firstGroupSize = _chain.TakeWhile(e => e.Timestamp == start).Count();
        if (plan.HasSessionStart) _chain.Insert((int)random.NextLong(++firstGroupSize), ("session_start", start));
        if (plan.HasFirstVisit) _chain.Insert((int)random.NextLong(++firstGroupSize), ("first_visit", start));
    }

    private SyntheticEvent CreateEvent(in SessionPlan plan, SyntheticUser user, int index, long bundle, string page,
        ref SyntheticRandom random)
    {
        var (name, timestamp) = _chain[index];
        var nameIndex = Array.IndexOf(model.ContentNames, name);
        var parameters = new List<EventParam>(4)
        {
            new("ga_session_id", null, plan.StartTimestamp / 1_000_000),
            new("ga_session_number", null, plan.SessionNumber),
            new("page_location", Site + page, null),
        };
        if (nameIndex >= 0 && random.Chance(model.EngagementTimeParam[nameIndex]))
        {
            // Foreground time since the previous event, as GA4 reports it; a small value for batched events.
            var sincePrevious = index == 0 ? 0 : (timestamp - _chain[index - 1].Timestamp) / 1000;
            parameters.Add(new("engagement_time_msec", null, sincePrevious > 0 ? sincePrevious : 1 + random.NextLong(100)));
        }

        var items = Array.Empty<CatalogueItem>();
        if (nameIndex >= 0 && model.Items[nameIndex] is { } share && random.Chance(share.P))
        {
            // 1 + geometric with the profile's mean count.
            var count = 1;
            var pMore = 1 - 1 / Math.Max(1, share.MeanCount);
            while (count < 50 && random.Chance(pMore)) count++;
            items = new CatalogueItem[count];
            for (var i = 0; i < count; i++) items[i] = Catalogue[random.NextLong(Catalogue.Length)];
        }

        return new SyntheticEvent
        {
            Timestamp = timestamp,
            Name = name,
            BundleSequenceId = bundle,
            User = user,
            Params = parameters.ToArray(),
            Items = items,
            TransactionId = name == "purchase"
                ? string.Create(CultureInfo.InvariantCulture, $"T{plan.User}-{plan.Visit}-{index}")
                : null,
        };
    }

    private SyntheticUser CreateUser(in SessionPlan plan)
    {
        // Attributes come from the user's own stream, so every session of a user agrees.
        var random = new SyntheticRandom(seed, plan.User, -1);
        // 7919000003 is coprime with 10^10: distinct users get distinct ids below 10^10 users.
        var suffix = (plan.User * 7_919_000_003L + 1_234_567_891L) % 10_000_000_000L;
        var pseudoId = string.Create(CultureInfo.InvariantCulture, $"{1_000_000 + random.NextLong(9_000_000)}.{suffix:D10}");
        return new SyntheticUser(pseudoId, plan.FirstTouchTimestamp,
            model.DeviceCategory.Sample(ref random), model.OperatingSystem.Sample(ref random),
            model.Browser.Sample(ref random), model.Country.Sample(ref random), model.TrafficSource.Sample(ref random));
    }

    private static CatalogueItem[] BuildCatalogue()
    {
        var random = new SyntheticRandom(0, -2);
        return Enumerable.Range(0, 400).Select(i => new CatalogueItem(
            (9_180_000 + i).ToString(CultureInfo.InvariantCulture),
            $"Synthetic item {i}",
            Categories[i % Categories.Length],
            Math.Round(2 + random.NextDouble() * 98, 2))).ToArray();
    }
}
