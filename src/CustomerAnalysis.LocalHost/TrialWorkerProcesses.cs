using CustomerAnalysis.Pipeline.Configuration;
using System.Diagnostics;
using CustomerAnalysis.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CustomerAnalysis.LocalHost;

/// <summary>Where the worker program is and what it is told (the local stand-in for the Container Apps job).</summary>
/// <param name="Count">Worker processes to keep running.</param>
/// <param name="ConfigPath">The pipeline config the workers read (storage, workers section).</param>
/// <param name="StorageConnectionString">Overrides the config's connection string (e.g. <c>ca serve --storage</c>).</param>
/// <param name="WorkerAssembly">The worker's entry assembly; default: <c>ca-worker.dll</c> beside this one.</param>
/// <param name="Settings">The host's command-line overrides (<c>section:key=value</c>, as <c>ca run --set</c>): the
/// workers get them too, so a worker never reads another storage prefix or task hub than its host.</param>
public sealed record TrialWorkerProcessOptions(
    int Count, string ConfigPath, string? StorageConnectionString = null, string? WorkerAssembly = null,
    IReadOnlyList<string>? Settings = null)
{
    public string Assembly => WorkerAssembly ?? Path.Combine(AppContext.BaseDirectory, "ca-worker.dll");
}

/// <summary>
/// Runs N trial worker processes (the CustomerAnalysis.TrialWorker entrypoint, as in the container image) against the
/// same storage, restarting any that dies (a crash or a kill: its work item reappears after its lease and another
/// worker takes it). Separate processes are what make each worker's torch thread budget its own.
/// </summary>
public sealed class TrialWorkerProcesses(TrialWorkerProcessOptions options, ILogger<TrialWorkerProcesses> log)
    : BackgroundService
{
    private readonly Lock _lock = new();
    private readonly Process?[] _processes = new Process?[options.Count];

    /// <summary>The running workers' process ids (index = worker slot).</summary>
    public IReadOnlyList<int?> ProcessIds
    {
        get
        {
            lock (_lock) return _processes.Select(p => p is { HasExited: false } ? p.Id : (int?)null).ToList();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Count <= 0) return;
        if (!File.Exists(options.Assembly))
            throw new FileNotFoundException($"The trial worker program is missing: {options.Assembly}.");
        var slots = Enumerable.Range(0, options.Count).Select(slot => KeepRunningAsync(slot, stoppingToken)).ToArray();
        await Task.WhenAll(slots);
    }

    private async Task KeepRunningAsync(int slot, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var process = Start(slot);
            lock (_lock) _processes[slot] = process;
            try
            {
                await process.WaitForExitAsync(stoppingToken);
                log.LogWarning("Trial worker {Slot} (pid {Pid}) exited with {Code}; restarting", slot, process.Id, process.ExitCode);
                await Task.Delay(TimeSpan.FromMilliseconds(500), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private Process Start(int slot)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", options.Assembly, "--config", options.ConfigPath },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (options.StorageConnectionString is { } storage)
            start.Environment["CA_STORAGE_CONNECTION_STRING"] = storage;
        start.Environment["CA_WORKER_NAME"] = $"local-{slot}";
        // As CA__section__key environment variables, which the worker's config loader reads over the file.
        foreach (var setting in options.Settings ?? [])
            if (setting.Split('=', 2) is [var key, var value])
                start.Environment[PipelineConfigLoader.EnvironmentPrefix + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        // The worker exits when this process is gone, however it ended (a SIGKILL runs no clean-up here).
        start.Environment["CA_PARENT_PID"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start a trial worker.");
        // Drained so a chatty worker never blocks on a full pipe; its errors go to this host's log.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line) log.LogInformation("worker {Slot}: {Line}", slot, line);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        KillAll();
    }

    /// <summary>Also when the host is disposed without being stopped: no worker outlives it.</summary>
    public override void Dispose()
    {
        KillAll();
        base.Dispose();
    }

    private void KillAll()
    {
        Process?[] running;
        lock (_lock)
        {
            running = _processes.ToArray();
            Array.Clear(_processes);
        }
        foreach (var process in running.OfType<Process>())
        {
            try
            {
                // SIGKILL: a worker mid-trial leaves its item to reappear after its lease, exactly like a crash.
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                process.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
    }
}

public static class TrialWorkerProcessServices
{
    public static IServiceCollection AddTrialWorkerProcesses(this IServiceCollection services, TrialWorkerProcessOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<TrialWorkerProcesses>();
        services.AddHostedService(sp => sp.GetRequiredService<TrialWorkerProcesses>());
        return services;
    }
}
