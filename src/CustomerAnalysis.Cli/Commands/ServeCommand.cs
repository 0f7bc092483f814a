using System.CommandLine;
using CustomerAnalysis.LocalHost;
using Microsoft.Extensions.Hosting;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca serve</c>: the local host — the HTTP API on Kestrel, the Durable engine in-process on Azure
/// Storage (Azurite by default), the retraining timer — until Ctrl+C.</summary>
public static class ServeCommand
{
    public static Option<FileInfo> PipelineConfigOption() => new("--config")
    {
        Description = "Pipeline config (storage, API keys, per-task model, retraining).",
        DefaultValueFactory = _ => new FileInfo(Path.Combine("config", "pipeline.json")),
    };

    /// <summary>Pipeline config values over the file's: <c>--set api:admin_key=... --set retraining:cron=...</c>.</summary>
    public static Option<string[]> SettingsOption() => new("--set")
    {
        Description = "Pipeline config value over the file's, as section:key=value (repeatable).",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Command Create()
    {
        var port = SharedOptions.Number("--port", "HTTP port on 127.0.0.1 (0 = any free one).", 7071, 0, 65535);
        var storage = new Option<string?>("--storage") { Description = "Azure Storage connection string (default: the config's, Azurite)." };
        storage.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                if (LocalHosting.ConnectionStringProblem(token.Value) is { } problem)
                    result.AddError($"--storage is not an Azure Storage connection string: {problem}");
        });
        var config = PipelineConfigOption();
        var settings = SettingsOption();

        var command = new Command("serve", "Run the pipeline locally: HTTP API, Durable orchestration on Azurite, retraining timer.")
        {
            port, storage, config, settings,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var configFile = parsed.GetValue(config)!;
            var pipeline = LocalHosting.WithSessionAdminKey(
                LocalHosting.LoadConfig(configFile, parsed.GetValue(storage), parsed.GetValue(settings)), out var sessionKey);
            if (sessionKey != null)
                Console.Error.WriteLine($"Admin key for this session (x-api-key): {sessionKey} " +
                                        "(set api.admin_key in config/pipeline.local.json to keep one)");
            await LocalHosting.EnsureAzuriteAsync(pipeline.Storage.ConnectionString, pipeline.RootDirectory, cancellationToken);
            await using var server = await LocalHosting.StartServerAsync(configFile, pipeline, parsed.GetValue(settings),
                parsed.GetValue(port), retrainingTimer: true, cancellationToken);
            Console.Error.WriteLine($"Serving {server.Address()}api/ and the web UI at {server.Address()} with {pipeline.Workers.Count} trial " +
                                    $"worker processes (retraining cron '{pipeline.Retraining.Cron}'); Ctrl+C stops.");
            await server.WaitForShutdownAsync(cancellationToken);
            Console.Error.WriteLine("Stopping");
            return ExitCodes.Success;
        });
        return command;
    }
}
