using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Preparation;

/// <summary>Builds small event tables in source order, with times as offsets from a fixed start.</summary>
internal sealed class TestEvents
{
    /// <summary>2021-01-21 00:00 UTC in microseconds, like GA4's event_timestamp.</summary>
    public const long Start = 1_611_187_200_000_000;

    private readonly EventTableBuilder _builder = new();
    private long _rowNumber;

    public static long Seconds(double s) => (long)Math.Round(s * 1_000_000);
    public static long Minutes(double m) => Seconds(m * 60);
    public static long Hours(double h) => Seconds(h * 3600);

    /// <param name="at">Microseconds after <see cref="Start"/>.</param>
    public TestEvents Add(string user, long session, long at, string name, long? bundle = null)
    {
        _builder.Add(new SourceRow(user, Start + at, name, session, bundle, "test", ++_rowNumber));
        return this;
    }

    /// <summary>A row the builder rejects (no ga_session_id).</summary>
    public TestEvents AddRowWithoutSession(string user, long at, string name)
    {
        _builder.Add(new SourceRow(user, Start + at, name, null, null, "test", ++_rowNumber));
        return this;
    }

    public EventTable Build() => _builder.Build();

    /// <summary>Options that put every sequence in train, so tests of labels and windows need not find them.</summary>
    public static PrepareOptions AllTrain(PrepareOptions? options = null) =>
        (options ?? PrepareOptions.Default) with { Split = new SplitRatios(1, 0, 0) };

    public static IEnumerable<SequenceExample> All(PreparedDataset dataset) =>
        dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).Concat(dataset.ValidationRecent);

    public static string[] Names(PreparedDataset dataset, SequenceExample example) =>
        example.Tokens.Select(dataset.Vocabulary.Decode).ToArray();
}
