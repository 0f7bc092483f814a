namespace CustomerAnalysis.Core.Events;

/// <summary>A rejected row the user can find again: where it was and why it was dropped.</summary>
public sealed record RejectedRow(string Source, long RowNumber, RejectReason Reason);

/// <summary>Counts of an ingest. <see cref="RowsRead"/> = kept + <see cref="RowsRejected"/>.</summary>
public sealed record IngestReport(
    long RowsRead,
    long RowsRejected,
    IReadOnlyDictionary<RejectReason, long> RejectedByReason,
    IReadOnlyList<RejectedRow> FirstRejected);
