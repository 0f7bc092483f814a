namespace CustomerAnalysis.Core.Events;

/// <summary>
/// One GA4 event row as a reader found it, before validation. The four fields the pipeline needs may be missing;
/// <see cref="EventTableBuilder"/> decides what is kept. <paramref name="Source"/> and <paramref name="RowNumber"/>
/// (1-based within the source) let a rejection be reported where the user can find it. <paramref name="Signals"/>: the
/// configured extra fields (<see cref="EventTableBuilder.Signals"/>), null when none are read.
/// </summary>
public readonly record struct SourceRow(
    string? UserPseudoId,
    long? EventTimestamp,
    string? EventName,
    long? GaSessionId,
    long? EventBundleSequenceId,
    string Source,
    long RowNumber,
    SignalRow? Signals = null);
