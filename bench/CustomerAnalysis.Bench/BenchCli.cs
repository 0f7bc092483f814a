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
          prepare-shards --input <GA4 export> [--task events|churn] [--shards 1,4,16] [--sample-shards K]   (peak and time per activity)
          real --data <GA4 export> [--config config/nn/rnn-real.json] [--threads N] [--runs original-events,original-churn,default-churn,default-events] [--out <folder>] [--signals recommended|name,name] [--probabilities <churn.csv>] [--combine none|blend] [--holdout-days D (prepare option holdout_days; default 1)] [--signal-dropout F (prepare option signal_dropout, with --signals)]
          calibration --probabilities <churn.csv>   (each calibration method and fitting set on what real --probabilities saved: 5-fold and test ECE)
          baselines --data <GA4 export> [--runs ...as real] [--seed N] [--signals ...as real]   (the baselines of real alone, with the trees' fit time)
          grid36 --data <GA4 export> [--config config/nn/rnn.json] [--task events|churn] [--threads N]
          throughput --data <GA4 export> [--config config/nn/transformer.json] [--task events|churn] [--threads N]
          predict-latency --model <model.ckpt> [--events "session_start,page_view,..."] [--runs N]
          serve --events N [--requests N] [--seconds S] [--trials N] [--overhead true|false] [--max-wait-ms 0.5] [--batching true|false] [--task events|churn] [--combine none|blend]   (needs Azurite: scripts/azurite.sh)
          load --url <server> [--concurrency N] [--requests N] [--seconds S] [--route next-event|churn]   (the outside client bench serve runs)
          workers [--events N] [--trials N] [--epochs N]   (needs Azurite: in process vs 1 and 2 trial worker processes)
          score [--events N] [--task events|churn] [--config config/nn/rnn.json] [--shards N] [--runs N]   (users/s end to end)
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
                "prepare-shards" => PrepareShardsBench.Run(Required(options, "input"),
                    PrepareVsDuckDbCommand.ParseTask(options.GetValueOrDefault("task")),
                    (options.GetValueOrDefault("shards") ?? "1,4,16").Split(',').Select(int.Parse).ToArray(),
                    options.ContainsKey("sample-shards") ? Int(options, "sample-shards", 0) : null),
                "prepare-shard-step" => PrepareShardsBench.RunStep(Required(options, "step"), Required(options, "input"),
                    PrepareVsDuckDbCommand.ParseTask(options.GetValueOrDefault("task")), Int(options, "shard", 0),
                    Int(options, "shards", 1), Required(options, "folder")),
                "prepare-side" => PrepareVsDuckDbCommand.RunSide(Required(options, "side"), Required(options, "input"),
                    PrepareVsDuckDbCommand.ParseTask(options.GetValueOrDefault("task"))),
                "real" => ModelingBench.Real(Required(options, "data"), options.GetValueOrDefault("config") ?? "config/nn/rnn-real.json",
                    Int(options, "threads", 0), options.GetValueOrDefault("runs"), options.GetValueOrDefault("out"),
                    Core.Events.Signals.ParseList(options.GetValueOrDefault("signals") ?? ""), options.GetValueOrDefault("probabilities"), options.GetValueOrDefault("combine"),
                    options.TryGetValue("holdout-days", out var holdout) ? double.Parse(holdout, System.Globalization.CultureInfo.InvariantCulture) : null,
                    options.TryGetValue("signal-dropout", out var dropout) ? double.Parse(dropout, System.Globalization.CultureInfo.InvariantCulture) : null),
                "calibration" => CalibrationBench.Run(Required(options, "probabilities")),
                "baselines" => ModelingBench.Baselines(Required(options, "data"), options.GetValueOrDefault("runs"), Int(options, "seed", 42),
                    Core.Events.Signals.ParseList(options.GetValueOrDefault("signals") ?? "")),
                "grid36" => ModelingBench.Grid(Required(options, "data"), options.GetValueOrDefault("config") ?? "config/nn/rnn.json",
                    ModelingBench.Task(options.GetValueOrDefault("task")), Int(options, "threads", 0)),
                "throughput" => ModelingBench.Throughput(Required(options, "data"), options.GetValueOrDefault("config") ?? "config/nn/transformer.json",
                    ModelingBench.Task(options.GetValueOrDefault("task")), Int(options, "threads", 0)),
                "predict-latency" => ModelingBench.PredictLatency(Required(options, "model"),
                    options.GetValueOrDefault("events") ?? "session_start,page_view,scroll,view_item,page_view,user_engagement,view_item,add_to_cart",
                    Int(options, "runs", 2000)),
                "serve" => ServeBench.RunAsync(long.Parse(options.GetValueOrDefault("events") ?? "50000"),
                    Int(options, "requests", 20000), Int(options, "seconds", 15), Int(options, "trials", 8),
                    Bool(options, "overhead", true),
                    double.TryParse(options.GetValueOrDefault("max-wait-ms") ?? "0.5", System.Globalization.CultureInfo.InvariantCulture, out var wait)
                        ? wait : throw new ArgumentException("--max-wait-ms must be a number"),
                    Bool(options, "batching", true), ModelingBench.Task(options.GetValueOrDefault("task") ?? "events"),
                    options.GetValueOrDefault("combine")).GetAwaiter().GetResult(),
                "load" => LoadClient.RunAsync(new Uri(Required(options, "url")), Int(options, "concurrency", 1),
                    Int(options, "requests", 20000), Int(options, "seconds", 15),
                    LoadClient.ParseRoute(options.GetValueOrDefault("route"))).GetAwaiter().GetResult(),
                "workers" => WorkersBench.RunAsync(long.Parse(options.GetValueOrDefault("events") ?? "100000"),
                    Int(options, "trials", 8), Int(options, "epochs", 2)).GetAwaiter().GetResult(),
                "score" => ScoreBench.RunAsync(long.Parse(options.GetValueOrDefault("events") ?? "2000000"),
                    ModelingBench.Task(options.GetValueOrDefault("task") ?? "events"),
                    options.GetValueOrDefault("config") ?? "config/nn/rnn.json", Int(options, "shards", 1),
                    Int(options, "runs", 2)).GetAwaiter().GetResult(),
                _ => Fail($"unknown command '{args[0]}'"),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        catch (CustomerAnalysis.Core.InvalidInputException e)
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

    internal static bool Bool(Dictionary<string, string> options, string name, bool fallback) =>
        options.TryGetValue(name, out var text)
            ? bool.TryParse(text, out var value) ? value : throw new ArgumentException($"--{name} must be true or false, got '{text}'")
            : fallback;

    internal static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out var text)
            ? int.TryParse(text, out var value) ? value : throw new ArgumentException($"--{name} must be an integer, got '{text}'")
            : fallback;
}
