using System.CommandLine;
using CustomerAnalysis.Ingestion.Synthetic;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca synth</c>: a GA4-shaped export of any size, from statistics derived from real GA4 data.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the daily export files.", Required = true };
        var events = new Option<long>("--events") { Description = "About how many events to write.", DefaultValueFactory = _ => 100_000 };
        var days = new Option<int>("--days") { Description = "Consecutive days (one file per day and format).", DefaultValueFactory = _ => 9 };
        var start = new Option<DateOnly>("--start") { Description = "First day (yyyy-MM-dd).", DefaultValueFactory = _ => new DateOnly(2021, 1, 21) };
        var seed = new Option<int>("--seed") { Description = "Same seed, same bytes.", DefaultValueFactory = _ => 42 };
        var format = new Option<string>("--format") { Description = "parquet, ndjson or both.", DefaultValueFactory = _ => "parquet" }
            .AcceptOnlyFromAmong("parquet", "ndjson", "both");

        var command = new Command("synth", "Write a synthetic GA4 export (BigQuery export schema, Parquet and/or NDJSON).")
        {
            output, events, days, start, seed, format,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var options = new SyntheticExportOptions
            {
                OutputFolder = parsed.GetValue(output)!.FullName,
                Events = parsed.GetValue(events),
                Days = parsed.GetValue(days),
                StartDate = parsed.GetValue(start),
                Seed = parsed.GetValue(seed),
                Format = parsed.GetValue(format) switch
                {
                    "ndjson" => SyntheticFormat.Ndjson,
                    "both" => SyntheticFormat.Both,
                    _ => SyntheticFormat.Parquet,
                },
            };
            await CommandLine.WithProgressAsync($"Writing ~{options.Events:N0} events to {options.OutputFolder}", report =>
                SyntheticExport.WriteAsync(options, new Progress<long>(n => report($"{n:N0} events")), cancellationToken));
            Console.Error.WriteLine($"Synthetic export written to {options.OutputFolder}");
            return ExitCodes.Success;
        });
        return command;
    }
}
