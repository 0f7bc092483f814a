using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>Reads a GA4 export (anything <c>ca prepare --input</c> accepts) and prepares it, as <c>ca prepare</c> does
/// with the default protocol.</summary>
public sealed class ExportDatasetPreparer : IDatasetPreparer, IShardPreparer
{
    public async Task<PreparedShard> PrepareShardAsync(string source, PredictionTask task, PrepareOptions options,
        UserShard shard, CancellationToken cancellationToken)
    {
        var events = await EventSources.Open(source, EventSourceOptions.FromEnvironment())
            .ReadShardAsync(shard, progress: null, cancellationToken: cancellationToken);
        return DatasetPreparer.PrepareShard(events, task, options, DatasetPreparer.DefaultProtocol, shard);
    }

    public async Task<PreparedDataset> PrepareAsync(string source, PredictionTask task, PrepareOptions options,
        CancellationToken cancellationToken)
    {
        var events = await EventSources.Open(source, EventSourceOptions.FromEnvironment())
            .ReadTableAsync(progress: null, cancellationToken: cancellationToken);
        return DatasetPreparer.Prepare(events, task, options, DatasetPreparer.DefaultProtocol);
    }
}
