namespace CustomerAnalysis.Cli;

/// <summary>Exit codes other tools rely on.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    /// <summary>Bad arguments or unreadable input; a one-line error names the problem.</summary>
    public const int BadInput = 2;
}
