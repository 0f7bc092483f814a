namespace CustomerAnalysis.Core.Preparation;

/// <summary>
/// Everything a trainer needs: labelled sequences in three splits, the vocabulary they are encoded with (built from
/// the training split) and the options and counts that produced them, and
/// the signals' vocabularies and scalers (null without signals), fitted on the training split too.
/// <see cref="ValidationRecent"/>: the examples of training and validation users that happen in the last
/// <c>holdout_days</c> of the data (never trained on; empty without a holdout), to choose models that generalise
/// across time as well as users.
/// </summary>
public sealed record PreparedDataset(
    PredictionTask Task,
    PrepareOptions Options,
    Vocabulary Vocabulary,
    IReadOnlyList<SequenceExample> Train,
    IReadOnlyList<SequenceExample> Validation,
    IReadOnlyList<SequenceExample> Test,
    PrepareSummary Summary,
    SignalEncoding? Signals = null)
{
    public IReadOnlyList<SequenceExample> ValidationRecent { get; init; } = [];
}
