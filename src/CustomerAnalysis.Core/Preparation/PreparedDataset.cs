namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// Everything a trainer needs: labelled sequences in three splits, the vocabulary they are encoded with (built from
/// the training split) and the options and counts that produced them, and
/// the signals' vocabularies and scalers (null without signals), fitted on the training split too.
/// </summary>
public sealed record PreparedDataset(
    PredictionTask Task,
    PrepareOptions Options,
    Vocabulary Vocabulary,
    IReadOnlyList<SequenceExample> Train,
    IReadOnlyList<SequenceExample> Validation,
    IReadOnlyList<SequenceExample> Test,
    PrepareSummary Summary,
    SignalEncoding? Signals = null);
