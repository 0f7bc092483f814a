namespace CustomerAnalysis.Core.Events;

/// <summary>Why a source row was not kept. Every dropped row has exactly one reason (the first that applies).</summary>
public enum RejectReason
{
    MissingUserPseudoId,
    MissingEventTimestamp,
    MissingEventName,
    MissingGaSessionId,
}
