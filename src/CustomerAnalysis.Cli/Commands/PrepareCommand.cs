using System.CommandLine;
using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca prepare</c>: a GA4 export → labelled, split sequences with their vocabulary and counts.</summary>
public static class PrepareCommand
{
    public static Command Create()
    {
        var input = SharedOptions.Input();
        var task = SharedOptions.Task();
        var output = SharedOptions.OutputFolder("Folder for the prepared dataset.");
        var shards = new Option<int>("--shards")
        {
            Description = "Prepare shard by shard (users by hash of user_pseudo_id; same dataset, memory of one shard).",
            DefaultValueFactory = _ => 1,
        };
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "bq:// only: print the bytes the query would scan (BigQuery's dry run) and stop.",
        };
        var config = SharedOptions.DataConfig();
        var protocol = SharedOptions.Protocol();
        var json = SharedOptions.Json();

        var command = new Command("prepare", "Read a GA4 export, label it and write train/val/test sequences.")
        {
            input, task, output, config, protocol, json, shards, dryRun,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var shardCount = parsed.GetValue(shards);
            if (shardCount is < 1 or > Core.Events.UserShard.MaxCount)
                throw new Core.InvalidInputException(
                    $"--shards must be between 1 and {Core.Events.UserShard.MaxCount}, not {shardCount}.");
            if (parsed.GetValue(dryRun))
                return await DryRunAsync(parsed.GetValue(input)!, shardCount, parsed.GetValue(json), cancellationToken);
            if (parsed.GetValue(output) is null)
                throw new Core.InvalidInputException("--out is required (unless --dry-run).");
            var dataset = await DatasetInputs.PrepareAsync(parsed.GetValue(input)!, parsed.GetValue(task),
                parsed.GetValue(config), parsed.GetValue(protocol)!, cancellationToken, shardCount);
            await PreparedDatasetFiles.WriteAsync(dataset, parsed.GetValue(output)!.FullName, cancellationToken);

            if (parsed.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(dataset.Summary));
            else
                SummaryView.Write(dataset.Summary, parsed.GetValue(output)!.FullName);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>BigQuery bills the columns a query scans, whatever its WHERE: each shard's query scans what the
    /// unsharded one does, so N shards cost N times the bytes.</summary>
    private static async Task<int> DryRunAsync(string input, int shards, bool json, CancellationToken cancellationToken)
    {
        if (EventSources.Open(input, EventSourceOptions.FromEnvironment()) is not Ingestion.BigQuery.BigQueryEventSource source)
            throw new Core.InvalidInputException("--dry-run needs a bq:// source (files are not billed per byte).");
        var query = shards > 1 ? (Ingestion.BigQuery.BigQueryEventSource)source.ForShard(new Core.Events.UserShard(0, shards)) : source;
        var bytes = await query.DryRunAsync(cancellationToken);
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new { source = source.Description, shards, bytes_per_query = bytes,
                bytes_total = bytes * shards }));
        else
            Console.WriteLine($"{source.Description}: each query would scan {bytes:N0} bytes ({bytes / 1e9:0.###} GB)" +
                (shards > 1 ? $"; {shards} shard queries scan {bytes * shards:N0} bytes in all" : ""));
        return ExitCodes.Success;
    }
}
