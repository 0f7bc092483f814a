using System.Runtime.CompilerServices;

namespace CustomerAnalysis.Testing;

/// <summary>
/// Where the tests find the repository and the real data beside it. Linked into every test project
/// (tests/Directory.Build.props): one rule for the repository root, one for <c>../shared</c>.
/// </summary>
internal static class TestRepository
{
    /// <summary>Set by <c>.ci/run</c>: missing shared data is then a failure, never a skip.</summary>
    public const string RequireSharedDataVariable = "CA_REQUIRE_SHARED_DATA";

    /// <summary>The folder holding CustomerAnalysis.sln, found above the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary><c>../shared/data/ga4</c> beside the repository: the real GA4 sample. It exists only beside this
    /// repository's CI and development machines, never in a user's fresh clone.</summary>
    public static string SharedGa4Folder => Path.Combine(Root, "..", "shared", "data", "ga4");

    public static bool SharedDataRequired =>
        Environment.GetEnvironmentVariable(RequireSharedDataVariable) is "1" or "true";

    /// <summary>Why a test of the real data cannot run here, or null when the data is there (or required: then the
    /// test runs and fails on the missing files with <see cref="RequireSharedData"/>'s message).</summary>
    public static string? SharedDataSkipReason =>
        Directory.Exists(SharedGa4Folder) || SharedDataRequired
            ? null
            : $"needs the real GA4 sample in {Path.GetFullPath(SharedGa4Folder)}, which is not there (only CI and the " +
              $"maintainers' machines have ../shared beside the repository; {RequireSharedDataVariable}=1 makes this a failure)";

    /// <summary>The real data's folder; throws a message saying what is missing when it is not there.</summary>
    public static string RequireSharedData(params string[] relative)
    {
        var path = Path.Combine([SharedGa4Folder, .. relative]);
        if (!Directory.Exists(SharedGa4Folder))
            throw new InvalidOperationException(
                $"The real GA4 sample is required ({RequireSharedDataVariable}=1) but {Path.GetFullPath(SharedGa4Folder)} does not exist.");
        return path;
    }

    /// <summary>"Test_name (skipped: no ../shared/data/ga4 at /path)".</summary>
    public static string SkippedName(string test) => $"{test} (skipped: no ../shared/data/ga4 at {Path.GetFullPath(SharedGa4Folder)})";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CustomerAnalysis.sln"))) return dir.FullName;
        throw new InvalidOperationException("CustomerAnalysis.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A fact on the real data in <c>../shared</c>: skipped, with the reason printed, when it is absent.</summary>
internal sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute([CallerMemberName] string test = "")
    {
        if (TestRepository.SharedDataSkipReason is not { } reason) return;
        Skip = reason;
        // dotnet test's default output lists a skipped test by its name only: the name carries the reason.
        DisplayName = TestRepository.SkippedName(test);
    }
}

/// <summary>A theory on the real data in <c>../shared</c>: skipped (its data not even enumerated) when it is absent.</summary>
internal sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute([CallerMemberName] string test = "")
    {
        if (TestRepository.SharedDataSkipReason is not { } reason) return;
        Skip = reason;
        DisplayName = TestRepository.SkippedName(test);
    }
}
