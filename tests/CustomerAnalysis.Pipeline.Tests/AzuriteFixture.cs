using System.Diagnostics;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>
/// Starts Azurite through scripts/azurite.sh (installs it if missing, idempotent) once per test run, and hands out
/// unique names so tests never share a table, container or task hub.
/// </summary>
public sealed class AzuriteFixture
{
    public AzuriteFixture()
    {
        var script = Path.Combine(RepoRoot, "scripts", "azurite.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("Could not start bash to run scripts/azurite.sh.");
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)) || process.ExitCode != 0)
            throw new InvalidOperationException(
                $"Azurite is needed by these tests and scripts/azurite.sh failed: {stderr.Result}");
    }

    public string ConnectionString => StorageDefaults.AzuriteConnectionString;

    /// <summary>A name unique to this call: letters and digits, starting with a letter (valid for tables,
    /// containers and task hubs).</summary>
    public static string UniqueName(string prefix) =>
        $"{prefix}{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 16, 40)];

    public static string RepoRoot => TestRepository.Root;
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
