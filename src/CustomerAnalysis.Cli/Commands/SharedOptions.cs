using System.CommandLine;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Cli.Commands;

/// <summary>Options that mean the same thing in every command that has them.</summary>
public static class SharedOptions
{
    public static Option<string> Input() => new("--input")
    {
        Description = "A GA4 export: a Parquet/JSON file, a folder, a glob, or bq://project.dataset.events_*?from=yyyymmdd&to=yyyymmdd.",
        Required = true,
    };

    public static Option<PredictionTask> Task() => new("--task")
    {
        Description = "events (next event in a session) or churn.",
        HelpName = "events|churn",
        Required = true,
        CustomParser = result => PredictionTasks.TryParse(result.Tokens[0].Value, out var task)
            ? task
            : Fail(result, $"--task must be events or churn, not '{result.Tokens[0].Value}'."),
    };

    public static Option<FileInfo?> DataConfig() => new("--config")
    {
        Description = "Data settings (JSON, like config/prepare.json). Default: built-in defaults.",
    };

    public static Option<string> Protocol() => new Option<string>("--protocol")
    {
        Description = "default (leakage-free) or original (the original project's choices, for comparison).",
        DefaultValueFactory = _ => "default",
    }.AcceptOnlyFromAmong("default", "original");

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout." };

    private static PredictionTask Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}
