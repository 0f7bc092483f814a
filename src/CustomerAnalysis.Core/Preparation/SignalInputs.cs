using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Core.Preparation;

/// <summary>One input event's GA4 signal values as serving receives them, raw (as a reader finds them in an export):
/// categorical fields as texts, numeric ones as numbers. A field that is absent is missing.</summary>
public sealed record EventSignalValues(
    IReadOnlyDictionary<SignalField, string> Texts,
    IReadOnlyDictionary<SignalField, double> Numbers)
{
    public static readonly EventSignalValues None = new(new Dictionary<SignalField, string>(), new Dictionary<SignalField, double>());
}

/// <summary>
/// Encodes the raw signals of one served sequence exactly as preparation encodes the readers' values
/// (<see cref="DatasetPreparer.EncodeSignals"/>): texts marked and cleaned as <see cref="EventTableBuilder"/> does
/// (<c>(not set)</c> and empty are missing; <c>&lt;Other&gt;</c>, <c>(data deleted)</c> obfuscated; page URLs
/// bucketed), then looked up in the training vocabulary (unseen or capped values are <c>&lt;OTHER&gt;</c>); numbers
/// narrowed to float as the event table stores them, then log-standardised with the training scaler; a user field
/// (device, geo, traffic source, platform) is the sequence's first event's value, as a prepared sequence takes it
/// from its first input event (later events' values are not read).
/// </summary>
public static class SignalInputs
{
    /// <summary>The longest signal text served (GA4's own limit for <c>page_location</c>, its longest parameter).</summary>
    public const int MaxTextLength = 1000;

    /// <param name="events">Per event its values (null, or the list null: all missing); as many as the events.</param>
    /// <param name="count">The sequence's number of events.</param>
    public static ExampleSignals Encode(SignalEncoding encoding, IReadOnlyList<EventSignalValues?>? events, int count)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (events is not null && events.Count != count)
            throw new ArgumentException($"{events.Count} signal rows for {count} events.", nameof(events));
        EventSignalValues At(int i) => events?[i] ?? EventSignalValues.None;

        var categorical = new int[encoding.EventCategorical.Count][];
        for (var f = 0; f < categorical.Length; f++)
        {
            var feature = encoding.EventCategorical[f];
            var tokens = categorical[f] = new int[count];
            for (var i = 0; i < count; i++) tokens[i] = encoding.EncodeRaw(feature, At(i).Texts.GetValueOrDefault(feature.Field));
        }
        var numeric = new float?[encoding.EventNumeric.Count][];
        for (var f = 0; f < numeric.Length; f++)
        {
            var feature = encoding.EventNumeric[f];
            var values = numeric[f] = new float?[count];
            for (var i = 0; i < count; i++)
                values[i] = At(i).Numbers.TryGetValue(feature.Field, out var number) ? SignalEncoding.Scale(feature, (float)number) : null;
        }
        var user = new int[encoding.UserCategorical.Count];
        for (var f = 0; f < user.Length; f++)
        {
            var feature = encoding.UserCategorical[f];
            user[f] = count == 0 ? SignalEncoding.Missing : encoding.EncodeRaw(feature, At(0).Texts.GetValueOrDefault(feature.Field));
        }
        return new ExampleSignals(categorical, numeric, user);
    }
}
