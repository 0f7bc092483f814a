using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Tests;

/// <summary>Where the real GA4 sample lives (beside the repository, never inside it) and scratch folders.</summary>
internal static class TestData
{
    // Tests reading these are [SharedDataFact]/[SharedDataTheory]: skipped when ../shared is absent.
    public static string Ga4Folder => TestRepository.RequireSharedData("ga4-obfuscated-ecommerce");
    public static string Ga4Tables => Path.Combine(Ga4Folder, "input_DB");
    public static string Ga4ConsoleJson => Path.Combine(Ga4Folder, "misc", "events.json");

    public static async Task<List<SourceRow>> ReadAllAsync(IEventSource source)
    {
        var rows = new List<SourceRow>();
        await foreach (var row in source.ReadRowsAsync()) rows.Add(row);
        return rows;
    }
}

/// <summary>A fresh folder under the temp directory, deleted with everything in it on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ca-ingest-").FullName;

    public string File(string relative, string? content = null)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        if (content is not null) System.IO.File.WriteAllText(full, content);
        return full;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
