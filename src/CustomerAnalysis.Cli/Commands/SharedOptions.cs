using System.CommandLine;
using System.Globalization;
using System.Numerics;
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

    public static Option<FileInfo?> DataConfig() => new Option<FileInfo?>("--config")
    {
        Description = "Data settings (JSON, like config/prepare.json). Default: built-in defaults.",
    }.ExistingFile();

    public static Option<string> Protocol() => Choice("--protocol",
        "default (leakage-free) or original (the original project's choices, for comparison).", "default", "default", "original");

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>. Parsed here, never by a
    /// validator reading the value: a value that does not parse (<c>abc</c>, <c>99999999999</c> for an int) is a parse
    /// error naming the option, not an exception, and the message never names a .NET type.</summary>
    public static Option<T> Number<T>(string name, string description, T defaultValue, T min, T max)
        where T : struct, IBinaryInteger<T> => new(name)
    {
        Description = description,
        HelpName = $"{min}..{max}",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (T.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
                return value;
            result.AddError($"{name} must be a whole number from {min} to {max}, not '{text}'.");
            return defaultValue;
        },
    };

    /// <summary>One of a fixed set of words; the error names the option and every choice on one line.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices) => new(name)
    {
        Description = description,
        HelpName = string.Join('|', choices),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (choices.Contains(text, StringComparer.Ordinal)) return text;
            result.AddError($"{name} must be {string.Join(", ", choices[..^1])} or {choices[^1]}, not '{text}'.");
            return defaultValue;
        },
    };

    /// <summary>A file that must exist (a folder or a missing path is a parse error naming the option).</summary>
    public static T ExistingFile<T>(this T option) where T : Option
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (File.Exists(token.Value)) continue;
                result.AddError(Directory.Exists(token.Value)
                    ? $"{option.Name} must be a file, and {token.Value} is a folder."
                    : $"{option.Name}: {token.Value} does not exist.");
            }
        });
        return option;
    }

    /// <summary>A folder to write into: it may exist (as a folder) or not yet; an existing file there is a parse
    /// error, not a failure half-way through writing.</summary>
    public static Option<DirectoryInfo> OutputFolder(string description) => new Option<DirectoryInfo>("--out")
    {
        Description = description,
        Required = true,
    }.NotAFile();

    private static Option<DirectoryInfo> NotAFile(this Option<DirectoryInfo> option)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                if (File.Exists(token.Value))
                    result.AddError($"{option.Name} must be a folder, and {token.Value} is a file.");
        });
        return option;
    }

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object on stdout." };

    private static PredictionTask Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}
