using System.Text.Json;

namespace CustomerAnalysis.Infra.Tests;

/// <summary>What the Functions package is made of, read from the build's deps.json (what the host loads; files left
/// over from an earlier build do not count).</summary>
public sealed class PackageTests
{
    private static JsonDocument Deps() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Paths.FunctionsOutput, "CustomerAnalysis.Functions.deps.json")));

    [Fact]
    public void The_functions_app_is_built_for_linux_x64_only()
    {
        using var deps = Deps();
        Assert.Equal(".NETCoreApp,Version=v10.0/linux-x64", deps.RootElement.GetProperty("runtimeTarget").GetProperty("name").GetString());
        // A RID-less build lists natives per RID under runtimeTargets (win-x64, osx, linux-musl-arm64...); a linux-x64
        // build resolves them to plain native assets.
        var ridSpecific = deps.RootElement.GetProperty("targets").EnumerateObject()
            .SelectMany(t => t.Value.EnumerateObject())
            .Where(l => l.Value.TryGetProperty("runtimeTargets", out _))
            .Select(l => l.Name).ToList();
        Assert.Empty(ridSpecific);
    }

    // The preview in-process test host is the local Durable engine's (CustomerAnalysis.LocalHost); the Functions host
    // brings its own engine, so a reference that drags it back in (e.g. Functions -> LocalHost) fails here.
    [Fact]
    public void The_functions_app_ships_no_in_process_test_host()
    {
        using var deps = Deps();
        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0]).ToList();
        Assert.DoesNotContain("Microsoft.DurableTask.InProcessTestHost", libraries);
    }
}
