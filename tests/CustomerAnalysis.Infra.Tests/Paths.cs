using System.Reflection;

namespace CustomerAnalysis.Infra.Tests;

/// <summary>Where the checked files are, as the build recorded them (assembly metadata from the csproj).</summary>
internal static class Paths
{
    private static string Metadata(string key) =>
        typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"No {key} metadata.");

    public static string RepositoryRoot => Metadata("RepositoryRoot");
    public static string Infra => Path.Combine(RepositoryRoot, "infra");
    public static string HostJson => Path.Combine(RepositoryRoot, "host.json");
    public static string BicepCli => Metadata("BicepCli");

    /// <summary>The Functions app's build output: what the package is made of.</summary>
    public static string FunctionsOutput => Metadata("FunctionsOutput");

    /// <summary>The host-side extensions project the Functions SDK generates and builds (its bin holds the Durable
    /// extension the Functions host loads, with the WebJobs assemblies it needs).</summary>
    public static string FunctionsWorkerExtensions => Metadata("FunctionsWorkerExtensions");
}
