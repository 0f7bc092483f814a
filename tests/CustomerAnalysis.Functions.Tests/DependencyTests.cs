using System.Text.Json;

namespace CustomerAnalysis.Functions.Tests;

/// <summary>The seam, checked on what the build produced: the orchestration compiles without the training code, and
/// the Functions app gets TorchSharp only through the serving adapter and never ships the local engine.</summary>
public sealed class DependencyTests
{
    [Fact]
    public void The_pipeline_references_neither_TorchSharp_nor_the_training_code()
    {
        var pipeline = typeof(Pipeline.PipelineConfig).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain(pipeline, n => n is "TorchSharp" or "CustomerAnalysis.Modeling" or "CustomerAnalysis.Learning");
        var closure = Closure("CustomerAnalysis.Pipeline");
        Assert.DoesNotContain(closure, n => n.StartsWith("TorchSharp", StringComparison.Ordinal) || n.StartsWith("libtorch", StringComparison.Ordinal));
        Assert.DoesNotContain("CustomerAnalysis.Modeling", closure);
    }

    [Fact]
    public void The_functions_app_carries_TorchSharp_only_through_the_serving_adapter_and_no_local_engine()
    {
        var closure = Closure("CustomerAnalysis.Functions");
        Assert.Contains("CustomerAnalysis.Serving", closure);
        Assert.DoesNotContain("CustomerAnalysis.Learning", closure);
        Assert.DoesNotContain("CustomerAnalysis.LocalHost", closure);
        Assert.DoesNotContain("Microsoft.DurableTask.InProcessTestHost", closure);
        // Without the serving adapter, nothing of the app would reach TorchSharp.
        var withoutServing = Closure("CustomerAnalysis.Functions", skip: "CustomerAnalysis.Serving");
        Assert.DoesNotContain(withoutServing, n => n.StartsWith("TorchSharp", StringComparison.Ordinal));
        Assert.DoesNotContain("CustomerAnalysis.Modeling", withoutServing);
    }

    /// <summary>Every library <paramref name="root"/> depends on, per the Functions app's own deps.json (what its
    /// publish output is made of).</summary>
    private static HashSet<string> Closure(string root, string? skip = null)
    {
        var depsFile = Path.Combine(AppContext.BaseDirectory, "CustomerAnalysis.Functions.deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        // The runtime target: the app is built for linux-x64, so its libraries sit under ".NETCoreApp,Version=v10.0/linux-x64".
        var target = deps.RootElement.GetProperty("targets")
            .GetProperty(deps.RootElement.GetProperty("runtimeTarget").GetProperty("name").GetString()!);
        var byName = target.EnumerateObject().ToDictionary(p => p.Name.Split('/')[0], p => p.Value, StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Stack<string>([root]);
        while (pending.TryPop(out var name))
        {
            if (name == skip || !seen.Add(name) || !byName.TryGetValue(name, out var library)) continue;
            if (library.TryGetProperty("dependencies", out var dependencies))
                foreach (var dependency in dependencies.EnumerateObject())
                    pending.Push(dependency.Name);
        }
        seen.Remove(root);
        return seen;
    }
}
