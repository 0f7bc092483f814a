namespace CustomerAnalysis.Bench;

/// <summary>The process's peak resident set (VmHWM in /proc/self/status), the number both sides are compared on.</summary>
internal static class PeakMemory
{
    public static double Megabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) / 1024.0;
        throw new InvalidOperationException("VmHWM not found in /proc/self/status (Linux only).");
    }
}
