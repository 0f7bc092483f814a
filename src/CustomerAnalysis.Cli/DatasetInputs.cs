using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion;

namespace CustomerAnalysis.Cli;

/// <summary>Turns command-line data arguments into a prepared dataset: read the export, label, split.</summary>
public static class DatasetInputs
{
    public static async Task<PreparedDataset> PrepareAsync(string input, PredictionTask task, FileInfo? config,
        string protocol, CancellationToken cancellationToken, int shards = 1)
    {
        // The preparer applies the protocol's choices on top of these options.
        var options = config is null ? PrepareOptions.Default : PrepareOptionsFile.Load(config.FullName);
        var source = EventSources.Open(input,
            EventSourceOptions.FromEnvironment() with { Signals = DatasetPreparer.SignalsToRead(options, protocol) });
        if (shards > 1)
            return await PrepareShardedAsync(source, task, options, protocol, shards, cancellationToken);
        var events = await CommandLine.WithProgressAsync($"Reading {source.Description}", report =>
            source.ReadTableAsync(new Progress<ReadProgress>(p => report($"{p.RowsRead:N0} rows ({Path.GetFileName(p.CurrentSource)})")),
                cancellationToken: cancellationToken));

        foreach (var rejected in events.Report.FirstRejected)
            Console.Error.WriteLine($"rejected: {rejected.Source} row {rejected.RowNumber}: {rejected.Reason}");
        if (events.Report.RowsRejected > events.Report.FirstRejected.Count)
            Console.Error.WriteLine($"rejected: {events.Report.RowsRejected:N0} rows in all");

        var dataset = DatasetPreparer.Prepare(events, task, options, protocol);
        // Events were read, but not one sequence came of them: nothing to train on or evaluate, so not a dataset.
        if (dataset.Summary.Sequences == 0) throw new InvalidInputException(NoSequencesMessage(source.Description, dataset.Summary));
        return dataset;
    }

    private static string NoSequencesMessage(string description, PrepareSummary summary)
    {
        var why = summary.Labels is ChurnLabelCounts churn
            ? $"of {summary.Users:N0} user(s), {churn.Bounced:N0} bounced, {churn.Censored:N0} are too recent to label " +
              $"(censored) and {churn.NoEngagement:N0} have no engagement event"
            : $"all {summary.Sessions:N0} session(s) have fewer than 2 events";
        return $"No {summary.Task} sequences could be made from {description}: {why}.";
    }

    /// <summary>One shard at a time in this process (memory bounded by a shard, as the pipeline's shard activities),
    /// then the merge; the dataset equals the unsharded one.</summary>
    private static async Task<PreparedDataset> PrepareShardedAsync(IEventSource source, PredictionTask task,
        PrepareOptions options, string protocol, int shards, CancellationToken cancellationToken)
    {
        var parts = new List<PreparedShard>(shards);
        for (var k = 0; k < shards; k++)
        {
            var shard = new Core.Events.UserShard(k, shards);
            var events = await CommandLine.WithProgressAsync($"Shard {k + 1}/{shards}: reading {source.Description}", report =>
                source.ReadShardAsync(shard, new Progress<ReadProgress>(p => report($"{p.RowsRead:N0} rows of the shard")),
                    cancellationToken: cancellationToken));
            parts.Add(DatasetPreparer.PrepareShard(events, task, options, protocol, shard));
            Console.Error.WriteLine($"shards done: {k + 1}/{shards}");
        }
        return DatasetPreparer.Merge(parts);
    }

    /// <summary>A prepared dataset folder is read as is; anything else is treated as an export and prepared.</summary>
    public static async Task<PreparedDataset> LoadAsync(string data, PredictionTask task, FileInfo? config,
        string protocol, CancellationToken cancellationToken)
    {
        if (Directory.Exists(data) && File.Exists(Path.Combine(data, PreparedDatasetFiles.ManifestFileName)))
            return await PreparedDatasetFiles.ReadAsync(data, cancellationToken);
        return await PrepareAsync(data, task, config, protocol, cancellationToken);
    }
}
