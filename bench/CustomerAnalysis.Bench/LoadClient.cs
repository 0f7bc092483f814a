using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace CustomerAnalysis.Bench;

/// <summary>What one load run measured (latencies in ms).</summary>
/// <param name="CpuSeconds">The client process's own CPU time (user + system) over its run.</param>
internal sealed record LoadResult(int Requests, double Seconds, double P50, double P99, double Max, double CpuSeconds);

/// <summary>
/// <c>bench load</c>: an HTTP client in its own process posting one next-event session from
/// <paramref name="concurrency"/> loops (each waits for its answer before sending again: closed loop) until the
/// requests are done or the time is up; prints a <see cref="LoadResult"/> as one JSON line. <c>bench serve</c> runs it
/// as a child, so the load is measured the way an outside client sees it.
/// </summary>
internal static class LoadClient
{
    private const string Session = """{"events": ["session_start", "page_view", "scroll", "view_item", "page_view", "user_engagement", "view_item", "add_to_cart"], "top": 3}""";

    public static async Task<int> RunAsync(Uri address, int concurrency, int requests, int seconds)
    {
        // More threads than the default minimum, so 32 loops never wait on thread-pool growth in this process.
        ThreadPool.SetMinThreads(Math.Max(concurrency, Environment.ProcessorCount), Environment.ProcessorCount);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = address };
        var body = Encoding.UTF8.GetBytes(Session);
        var latencies = new List<double>(requests);
        var remaining = requests;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>();
            while (Interlocked.Decrement(ref remaining) >= 0 && wall.Elapsed.TotalSeconds < seconds)
            {
                var start = Stopwatch.GetTimestamp();
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                using var response = await http.PostAsync("api/predict/next-event", content);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"predict answered {(int)response.StatusCode}");
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            lock (latencies) latencies.AddRange(mine);
        })));
        var elapsed = wall.Elapsed.TotalSeconds;
        using var self = Process.GetCurrentProcess();
        latencies.Sort();
        Console.WriteLine(JsonSerializer.Serialize(new LoadResult(latencies.Count, elapsed,
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], self.TotalProcessorTime.TotalSeconds)));
        return 0;
    }

    /// <summary>Runs <c>bench load</c> in a child process against <paramref name="address"/>.</summary>
    public static async Task<LoadResult> RunChildAsync(Uri address, int concurrency, int requests, int seconds)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add(typeof(LoadClient).Assembly.Location);
        foreach (var arg in new[]
                 {
                     "load", "--url", address.ToString(), "--concurrency", concurrency.ToString(),
                     "--requests", requests.ToString(), "--seconds", seconds.ToString(),
                 })
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var error = await child.StandardError.ReadToEndAsync();
        await child.WaitForExitAsync();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"load c={concurrency} failed: {error}");
        return JsonSerializer.Deserialize<LoadResult>((await output).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!;
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
