using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using CustomerAnalysis.Core;
using CustomerAnalysis.Pipeline;
using CustomerAnalysis.LocalHost;
using CustomerAnalysis.Serving;
using CustomerAnalysis.Serving.Scoring;
using Microsoft.AspNetCore.Builder;

namespace CustomerAnalysis.Cli;

/// <summary>What <c>ca serve</c> and <c>ca run</c> share: the pipeline config, Azurite, the local server.</summary>
public static class LocalHosting
{
    /// <summary>The pipeline config with its layers (config/pipeline.local.json, CA__ environment variables), then
    /// <paramref name="settings"/> (<c>--set section:key=value</c>) and the storage connection when one is given.</summary>
    public static PipelineConfig LoadConfig(FileInfo file, string? storage, IReadOnlyList<string>? settings = null)
    {
        var commandLine = (settings ?? []).ToList();
        if (storage is { Length: > 0 }) commandLine.Add($"storage:connection_string={storage}");
        var config = PipelineConfig.Load(file.FullName, commandLine);
        if (config.Storage.ConnectionString is { Length: > 0 } connection && ConnectionStringProblem(connection) is { } problem)
            throw new InvalidInputException(storage is { Length: > 0 }
                ? $"--storage is not an Azure Storage connection string: {problem}"
                : $"storage.connection_string in the pipeline config is not an Azure Storage connection string: {problem}");
        return config;
    }

    /// <summary>The committed config holds no admin key (it would ship in the Functions package). Locally, with none
    /// set in config/pipeline.local.json, CA__api__admin_key or --set, this process gets a random one.</summary>
    public static PipelineConfig WithSessionAdminKey(PipelineConfig config, out string? generated)
    {
        generated = null;
        if (!string.IsNullOrEmpty(config.Api.AdminKey)) return config;
        generated = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        return config with { Api = config.Api with { AdminKey = generated } };
    }

    /// <summary>Why a connection string cannot be used, or null when it can: the storage clients parse it here, before
    /// anything starts, so a typo is a bad argument and not a failure of the host half-way up. Nothing is contacted.</summary>
    public static string? ConnectionStringProblem(string connectionString)
    {
        try
        {
            _ = new TableServiceClient(connectionString);
            _ = new BlobServiceClient(connectionString);
            return null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or UriFormatException)
        {
            return e.Message;
        }
    }

    /// <summary>Starts Azurite through scripts/azurite.sh (which installs it if needed) when the connection is the
    /// local development one and nothing listens on its blob port.</summary>
    public static async Task EnsureAzuriteAsync(string connectionString, string root, CancellationToken cancellationToken)
    {
        var development = connectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)
                          || connectionString.Contains("devstoreaccount1", StringComparison.Ordinal);
        if (!development || await ListensAsync(10000, cancellationToken)) return;

        var script = Path.Combine(root, "scripts", "azurite.sh");
        if (!File.Exists(script))
            throw new InvalidInputException($"Azurite is not running on 127.0.0.1:10000 and {script} is missing to start it.");
        Console.Error.WriteLine("Starting Azurite (scripts/azurite.sh)");
        using var process = Process.Start(new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true })
                            ?? throw new InvalidOperationException("Could not start bash for scripts/azurite.sh.");
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidInputException($"scripts/azurite.sh failed (exit {process.ExitCode}); see .azurite/azurite.log.");
    }

    /// <summary>The local host with the TorchSharp predictor and <c>workers.count</c> trial worker processes reading
    /// the same config file.</summary>
    public static Task<WebApplication> StartServerAsync(FileInfo configFile, PipelineConfig config,
        IReadOnlyList<string>? settings, int port, bool retrainingTimer, CancellationToken cancellationToken) =>
        LocalPipelineHost.StartAsync(config,
            new LocalHostOptions(port, retrainingTimer,
                new TrialWorkerProcessOptions(config.Workers.Count, configFile.FullName, config.Storage.ConnectionString,
                    Settings: settings)),
            services => services.AddTorchServing(config.Serving).AddTorchBatchScoring(), cancellationToken: cancellationToken);

    private static async Task<bool> ListensAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
