using CustomerAnalysis.Core;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>The one rule for scoring run ids: they name a blob folder (<c>scores/{run}/</c>) and a Durable instance,
/// so they are held to characters both accept.</summary>
public static class ScoringRunIds
{
    public const int MaxLength = 64;

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && char.IsAsciiLetterOrDigit(id[0])
        && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public static string Validate(string? id, string what = "run_id") => IsValid(id)
        ? id!
        : throw new InvalidInputException(
            $"{what} '{id}' is invalid: use 1-{MaxLength} letters, digits, '-' or '_', starting with a letter or digit.");

    /// <summary>A new id: <c>score-yyyyMMdd-HHmmss-xxxxxxxx</c> (sorts by time).</summary>
    public static string New(DateTimeOffset now) => $"score-{now.UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}"[..29];
}
