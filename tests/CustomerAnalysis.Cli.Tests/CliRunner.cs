using CustomerAnalysis.Cli;

// The commands write to the process's Console: tests that capture it must not overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace CustomerAnalysis.Cli.Tests;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs <c>ca</c> in-process through the same entry as Program.cs, capturing stdout and stderr.</summary>
internal static class CliRunner
{
    public static CliResult Run(params string[] args)
    {
        var (originalOut, originalError) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var exitCode = CommandLine.InvokeAsync(CaCommand.Create(), args).GetAwaiter().GetResult();
            return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }
}

/// <summary>A small synthetic export, its prepared events dataset and a tiny model config, made once for all tests.</summary>
public sealed class CliWorkspace : IDisposable
{
    public CliWorkspace()
    {
        Folder = Path.Combine(Path.GetTempPath(), $"ca-cli-tests-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Folder);
        Export = Path.Combine(Folder, "export");
        Expect(CliRunner.Run("synth", "--out", Export, "--events", "3000", "--days", "3", "--seed", "5"));
        PreparedEvents = Path.Combine(Folder, "prepared-events");
        Expect(CliRunner.Run("prepare", "--input", Export, "--task", "events", "--out", PreparedEvents, "--json"));
        TinyConfig = Path.Combine(Folder, "tiny.json");
        File.WriteAllText(TinyConfig, """
            {
              "model_type": "rnn",
              "model_init_params": { "cell_type": "gru", "embedding_size": 8, "hidden_size": 8, "max_sequence_length": 30, "dropout_rate": 0 },
              "model_training_params": { "task": "events", "device": "cpu", "num_epochs": 2, "batch_size": 32 },
              "pipeline_params": { "early_stopping_patience": 1, "grid_search_metric": "accuracy" },
              "grid_search_params": { "attention_type": ["global", "last"] }
            }
            """);
    }

    public string Folder { get; }
    public string Export { get; }
    public string PreparedEvents { get; }
    public string TinyConfig { get; }

    public string NewFolder(string name) => Path.Combine(Folder, $"{name}-{Guid.NewGuid():N}");

    private static void Expect(CliResult result)
    {
        if (result.ExitCode != 0) throw new InvalidOperationException($"setup failed ({result.ExitCode}): {result.Stderr}");
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
