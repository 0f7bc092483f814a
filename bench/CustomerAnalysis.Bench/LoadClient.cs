using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace CustomerAnalysis.Bench;

/// <summary>What one load run measured (latencies in ms).</summary>
/// <param name="CpuSeconds">The client process's own CPU time (user + system) over its run.</param>
internal sealed record LoadResult(int Requests, double Seconds, double P50, double P99, double Max, double CpuSeconds);

/// <summary>
/// <c>bench load</c>: an HTTP client in its own process posting one next-event session (or, with
/// <c>--route churn</c>, one user's 8 events with timestamps: the churn models use time gaps) from
/// <paramref name="concurrency"/> loops (each waits for its answer before sending again: closed loop) until the
/// requests are done or the time is up; prints a <see cref="LoadResult"/> as one JSON line. <c>bench serve</c> runs it
/// as a child, so the load is measured the way an outside client sees it.
/// </summary>
internal static class LoadClient
{
    private const string Session = """{"events": ["session_start", "page_view", "scroll", "view_item", "page_view", "user_engagement", "view_item", "add_to_cart"], "top": 3}""";

    /// <summary>The same 8 events as one churn user's, seconds apart.</summary>
    private const string ChurnUser = """
        {"events": [{"name": "session_start", "timestamp": "2021-01-21T10:00:00Z"}, {"name": "page_view", "timestamp": "2021-01-21T10:00:02Z"},
        {"name": "scroll", "timestamp": "2021-01-21T10:00:09Z"}, {"name": "view_item", "timestamp": "2021-01-21T10:00:15Z"},
        {"name": "page_view", "timestamp": "2021-01-21T10:01:01Z"}, {"name": "user_engagement", "timestamp": "2021-01-21T10:01:04Z"},
        {"name": "view_item", "timestamp": "2021-01-21T10:02:30Z"}, {"name": "add_to_cart", "timestamp": "2021-01-21T10:02:41Z"}]}
        """;

    /// <summary>The predict routes the client can load.</summary>
    public enum Route { NextEvent, Churn }

    public static Route ParseRoute(string? text) => text switch
    {
        null or "next-event" => Route.NextEvent,
        "churn" => Route.Churn,
        _ => throw new ArgumentException($"--route must be next-event or churn, got '{text}'"),
    };

    public static string Name(Route route) => route == Route.Churn ? "churn" : "next-event";

    public static async Task<int> RunAsync(Uri address, int concurrency, int requests, int seconds, Route route = Route.NextEvent)
    {
        // More threads than the default minimum, so 32 loops never wait on thread-pool growth in this process.
        ThreadPool.SetMinThreads(Math.Max(concurrency, Environment.ProcessorCount), Environment.ProcessorCount);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = address };
        var body = Encoding.UTF8.GetBytes(route == Route.Churn ? ChurnUser : Session);
        var path = "api/predict/" + Name(route);
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
                using var response = await http.PostAsync(path, content);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"predict answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
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
    public static async Task<LoadResult> RunChildAsync(Uri address, int concurrency, int requests, int seconds,
        Route route = Route.NextEvent)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add(typeof(LoadClient).Assembly.Location);
        foreach (var arg in new[]
                 {
                     "load", "--url", address.ToString(), "--concurrency", concurrency.ToString(),
                     "--requests", requests.ToString(), "--seconds", seconds.ToString(), "--route", Name(route),
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
