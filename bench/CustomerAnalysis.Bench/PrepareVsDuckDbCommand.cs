using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Bench;

/// <summary>One side's measurement, printed by the child process as one JSON line.</summary>
internal sealed record SideResult(string Side, double Seconds, double PeakMegabytes, long Sequences);

/// <summary>
/// <c>bench prepare-vs-duckdb</c>: times prepare (ours) against DuckDB on the same Parquet export. Each side runs in
/// a fresh child process of this program (<c>prepare-side --side duckdb|ours</c>) so that peak memory (VmHWM) is
/// that side's alone; the time covers reading the files through to the finished sequences, not process start.
/// </summary>
internal static class PrepareVsDuckDbCommand
{
    public static int Run(string input, PredictionTask task, int runs)
    {
        var results = new List<SideResult>();
        foreach (var side in new[] { "duckdb", "ours" })
            for (var run = 0; run < runs; run++)
            {
                var result = RunChild(side, input, task);
                if (result is null) break; // side unavailable: message already printed
                results.Add(result);
                Console.WriteLine($"  {side,-6} run {run + 1}: {result.Seconds,7:F2} s, peak {result.PeakMegabytes,6:F0} MB, {result.Sequences:N0} sequences");
            }

        Console.WriteLine($"prepare --task {task.ToString().ToLowerInvariant()} on {input}: best of {runs}");
        var best = results.GroupBy(r => r.Side).ToDictionary(g => g.Key, g => g.MinBy(r => r.Seconds)!);
        foreach (var (side, r) in best)
            Console.WriteLine($"  {side,-6} {r.Seconds,7:F2} s  peak {r.PeakMegabytes,6:F0} MB  {r.Sequences:N0} sequences");
        if (best.TryGetValue("ours", out var ours) && best.TryGetValue("duckdb", out var duck))
            Console.WriteLine($"  ours/duckdb time ratio {ours.Seconds / duck.Seconds:F2}, memory ratio {ours.PeakMegabytes / duck.PeakMegabytes:F2}");
        return 0;
    }

    /// <summary>The child's entry point: runs one side once and prints its <see cref="SideResult"/>.</summary>
    public static int RunSide(string side, string input, PredictionTask task)
    {
        var clock = Stopwatch.StartNew();
        long sequences = side switch
        {
            "duckdb" => DuckDbSide.Run(input, task),
            "ours" => OursSide.RunAsync(input, task).GetAwaiter().GetResult(),
            _ => throw new ArgumentException($"--side must be duckdb or ours, got '{side}'"),
        };
        clock.Stop();
        Console.WriteLine(JsonSerializer.Serialize(new SideResult(side, clock.Elapsed.TotalSeconds, PeakMemory.Megabytes(), sequences)));
        return 0;
    }

    private static SideResult? RunChild(string side, string input, PredictionTask task)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Under `dotnet run` (or `dotnet x.dll`) the process is the dotnet host: pass our assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add(typeof(PrepareVsDuckDbCommand).Assembly.Location);
        foreach (var arg in new[] { "prepare-side", "--side", side, "--input", input, "--task", task.ToString().ToLowerInvariant() })
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = child.StandardError.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            Console.WriteLine($"  {side}: unavailable ({error.Trim().Split('\n')[0]})");
            return null;
        }
        var line = output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        return JsonSerializer.Deserialize<SideResult>(line);
    }

    internal static PredictionTask ParseTask(string? text) =>
        text is null ? PredictionTask.Events
        : PredictionTasks.TryParse(text, out var task) ? task
        : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--task must be events or churn, got '{text}'"));
}
