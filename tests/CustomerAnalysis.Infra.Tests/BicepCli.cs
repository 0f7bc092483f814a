using System.Diagnostics;

namespace CustomerAnalysis.Infra.Tests;

/// <summary>The Bicep CLI from the NuGet package (restore downloads it; see the csproj).</summary>
internal static class BicepCli
{
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        /// <summary>Everything it printed: warnings and errors go to stderr, lint findings too.</summary>
        public string Diagnostics => (Output + Errors).Trim();
    }

    public static Result Run(IReadOnlyDictionary<string, string?>? environment = null, params string[] arguments)
    {
        var cli = Paths.BicepCli;
        Assert.True(File.Exists(cli), $"Bicep CLI missing at {cli}: restore downloads it (PackageDownload).");
        var start = new ProcessStartInfo(cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Paths.RepositoryRoot,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // No telemetry or update checks from a test run.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in 2 minutes.");
        }
        return new Result(process.ExitCode, output.Result, errors.Result);
    }
}
