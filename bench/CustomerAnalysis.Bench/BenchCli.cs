using CustomerAnalysis.Ingestion.Synthetic;

namespace CustomerAnalysis.Bench;

/// <summary>The bench program's commands and their <c>--name value</c> options.</summary>
internal static class BenchCli
{
    private const string Usage = """
        usage: bench <command> [options]
          profile --data <folder of GA4 parquet> [--out <ga4-profile.json>]
          synth --out <folder> [--events N] [--days N] [--seed N] [--format parquet|ndjson|both]
          prepare-vs-duckdb --input <folder of parquet> [--task events|churn] [--runs N]
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        try
        {
            var options = ParseOptions(args.AsSpan(1));
            return args[0] switch
            {
                "profile" => ProfileCommand.Run(Required(options, "data"),
                    options.GetValueOrDefault("out") ?? "src/CustomerAnalysis.Ingestion/Synthetic/ga4-profile.json"),
                "synth" => SynthCommand.RunAsync(new SyntheticExportOptions
                {
                    OutputFolder = Required(options, "out"),
                    Events = long.Parse(options.GetValueOrDefault("events") ?? "10000000"),
                    Days = Int(options, "days", 9),
                    Seed = Int(options, "seed", 42),
                    Format = Enum.Parse<SyntheticFormat>(options.GetValueOrDefault("format") ?? "parquet", ignoreCase: true),
                }).GetAwaiter().GetResult(),
                "prepare-vs-duckdb" => PrepareVsDuckDbCommand.Run(Required(options, "input"),
                    PrepareVsDuckDbCommand.ParseTask(options.GetValueOrDefault("task")), Int(options, "runs", 3)),
                "prepare-side" => PrepareVsDuckDbCommand.RunSide(Required(options, "side"), Required(options, "input"),
                    PrepareVsDuckDbCommand.ParseTask(options.GetValueOrDefault("task"))),
                _ => Fail($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        catch (NotSupportedException e)
        {
            Console.Error.WriteLine(e.Message);
            return 3;
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}\n{Usage}");
        return 2;
    }

    private static Dictionary<string, string> ParseOptions(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected '--name value' pairs, got '{args[i]}'");
            options[args[i][2..]] = args[i + 1];
        }
        return options;
    }

    internal static string Required(Dictionary<string, string> options, string name) =>
        options.GetValueOrDefault(name) ?? throw new ArgumentException($"--{name} is required");

    internal static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out var text)
            ? int.TryParse(text, out var value) ? value : throw new ArgumentException($"--{name} must be an integer, got '{text}'")
            : fallback;
}
