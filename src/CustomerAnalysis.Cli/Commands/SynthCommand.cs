using System.CommandLine;
using System.Globalization;
using CustomerAnalysis.Ingestion.Synthetic;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca synth</c>: a GA4-shaped export of any size, from statistics derived from real GA4 data.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var output = SharedOptions.OutputFolder("Folder for the daily export files.");
        var events = SharedOptions.Number("--events", "About how many events to write.", 100_000L, 1L, 10_000_000_000L);
        var days = SharedOptions.Number("--days", "Consecutive days (one file per day and format).", 9, 1, SyntheticExportOptions.MaxDays);
        var start = new Option<DateOnly>("--start")
        {
            Description = "First day (yyyy-MM-dd, 1970 to 9000).",
            HelpName = "yyyy-MM-dd",
            DefaultValueFactory = _ => new DateOnly(2021, 1, 21),
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                // Event timestamps are microseconds since 1970; the upper bound leaves room for --days.
                if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                    && date.Year is >= 1970 and <= 9000)
                    return date;
                result.AddError($"--start must be a date yyyy-MM-dd from 1970 to 9000, not '{text}'.");
                return default;
            },
        };
        var seed = SharedOptions.Number("--seed", "Same seed, same bytes.", 42, int.MinValue, int.MaxValue);
        var format = SharedOptions.Choice("--format", "parquet, ndjson or both.", "parquet", "parquet", "ndjson", "both");

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
