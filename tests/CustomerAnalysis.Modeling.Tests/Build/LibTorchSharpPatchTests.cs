namespace CustomerAnalysis.Modeling.Tests.Build;

public class LibTorchSharpPatchTests
{
    /// <summary>The build patches the copy in the output folder, flipping exactly the weak bit of one flag, and
    /// leaves the NuGet cache alone.</summary>
    [Fact]
    public void The_output_copy_differs_from_the_package_by_the_weak_flag_only()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"missing {output}");
        if (!File.Exists(original)) return; // Packages restored elsewhere: nothing to compare with.

        var patched = File.ReadAllBytes(output);
        var package = File.ReadAllBytes(original);
        Assert.Equal(package.Length, patched.Length);
        var differences = Enumerable.Range(0, package.Length).Where(i => package[i] != patched[i]).ToArray();
        var only = Assert.Single(differences);
        Assert.Equal(package[only] | 0x2, patched[only]);
        // Loading works: TorchSharp runs (any torch call would throw otherwise).
        Assert.Equal(3, TorchSharp.torch.ones(3).sum().item<float>());
    }
}
