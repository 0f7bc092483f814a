using CustomerAnalysis.Core;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>The one rule for registry model names. A name is a Table partition key and a route segment, so it is
/// held to characters both accept.</summary>
public static class ModelNames
{
    public const int MaxLength = 64;

    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= MaxLength } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Throws <see cref="InvalidInputException"/> naming the problem unless <paramref name="name"/> is valid.</summary>
    public static string Validate(string? name) => IsValid(name)
        ? name!
        : throw new InvalidInputException(
            $"'name' '{name}' is invalid: use 1-{MaxLength} letters, digits, '-' or '_'.");
}
