using System.Diagnostics;
using CustomerAnalysis.Ingestion.Synthetic;

namespace CustomerAnalysis.Bench;

/// <summary><c>bench synth</c>: times <see cref="SyntheticExport"/> and reports its size and peak memory.</summary>
internal static class SynthCommand
{
    public static async Task<int> RunAsync(SyntheticExportOptions options)
    {
        var clock = Stopwatch.StartNew();
        var result = await SyntheticExport.WriteAsync(options,
            new Progress<long>(n => Console.Error.Write($"\r{n:N0} events, {clock.Elapsed.TotalSeconds:F0} s")));
        clock.Stop();
        var bytes = result.Files.Sum(f => new FileInfo(f).Length);
        Console.Error.WriteLine();
        Console.WriteLine($"synth {options.Format}: {result.Events:N0} events, {result.Users:N0} users, {result.Sessions:N0} sessions, " +
                          $"{result.Files.Count} files, {bytes / 1e6:F1} MB in {clock.Elapsed.TotalSeconds:F1} s " +
                          $"({result.Events / clock.Elapsed.TotalSeconds:N0} events/s), peak memory {PeakMemory.Megabytes():F0} MB");
        return 0;
    }
}
