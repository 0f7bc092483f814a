namespace CustomerAnalysis.Core;

/// <summary>
/// Input the user can fix: a bad argument, an unreadable file, an invalid setting. The message names the problem in
/// one line; hosts turn it into exit code 2 (CLI) or a 4xx problem response (HTTP).
/// </summary>
public sealed class InvalidInputException(string message, Exception? innerException = null)
    : Exception(message, innerException);
