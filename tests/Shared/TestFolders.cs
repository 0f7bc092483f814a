namespace CustomerAnalysis.Testing;

/// <summary>Temporary folders that shared fixtures keep for the whole test run (static or class fixtures that xUnit
/// never disposes): deleted when the test process exits, so repeated runs do not pile them up in /tmp.</summary>
internal static class TestFolders
{
    private static readonly List<string> Created = [];

    static TestFolders() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        lock (Created)
            foreach (var folder in Created)
                try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    };

    /// <summary>A new empty folder under the temp directory, named <paramref name="prefix"/> plus a random suffix.</summary>
    public static string Create(string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        lock (Created) Created.Add(folder);
        return folder;
    }
}
