namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>A registry change lost a race with another change to the same model (an ETag no longer matched): the
/// caller may read again and retry. The API answers 409.</summary>
public sealed class ConcurrencyConflictException(string message, Exception? inner = null) : Exception(message, inner);
