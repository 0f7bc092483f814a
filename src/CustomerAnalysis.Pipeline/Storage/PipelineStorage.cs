using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>Where the pipeline keeps its tables and blobs.</summary>
public sealed record PipelineStorageOptions
{
    public string ConnectionString { get; init; } = StorageDefaults.AzuriteConnectionString;

    /// <summary>Prefix of every table and container name (letters and digits): lets tests and side-by-side
    /// deployments share one account.</summary>
    public string NamePrefix { get; init; } = "ca";
}

/// <summary>
/// The pipeline's Azure Storage: tables <c>{prefix}runs</c>, <c>{prefix}trials</c>, <c>{prefix}models</c> and the blob
/// container <c>{prefix}artifacts</c>, and the trial workers' queues <c>{prefix}-trials</c> (work items) and
/// <c>{prefix}-trial-done</c> (completions). One instance per process; the clients it holds are thread-safe.
/// </summary>
public sealed class PipelineStorage
{
    public PipelineStorage(PipelineStorageOptions options)
    {
        if (options.NamePrefix.Length is 0 or > 20 || !char.IsAsciiLetter(options.NamePrefix[0])
            || !options.NamePrefix.All(char.IsAsciiLetterOrDigit))
            throw new ArgumentException(
                $"Storage name prefix '{options.NamePrefix}' is invalid: use 1-20 letters and digits, starting with a letter.");
        var tables = new TableServiceClient(options.ConnectionString);
        Runs = tables.GetTableClient(options.NamePrefix + "runs");
        Trials = tables.GetTableClient(options.NamePrefix + "trials");
        Models = tables.GetTableClient(options.NamePrefix + "models");
        Artifacts = new BlobServiceClient(options.ConnectionString)
            .GetBlobContainerClient(options.NamePrefix.ToLowerInvariant() + "artifacts");
        // Work items are JSON text; base64 keeps them valid for every queue client (the Functions trigger decodes it).
        var queues = new QueueServiceClient(options.ConnectionString,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        TrialQueue = queues.GetQueueClient(TrialQueueName(options.NamePrefix));
        CompletionQueue = queues.GetQueueClient(CompletionQueueName(options.NamePrefix));
    }

    public static string TrialQueueName(string prefix) => prefix.ToLowerInvariant() + "-trials";
    public static string CompletionQueueName(string prefix) => prefix.ToLowerInvariant() + "-trial-done";

    internal TableClient Runs { get; }
    internal TableClient Trials { get; }
    internal TableClient Models { get; }
    internal BlobContainerClient Artifacts { get; }
    internal QueueClient TrialQueue { get; }
    internal QueueClient CompletionQueue { get; }

    /// <summary>Creates the tables and the container if missing (idempotent).</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await Task.WhenAll(
                Runs.CreateIfNotExistsAsync(cancellationToken),
                Trials.CreateIfNotExistsAsync(cancellationToken),
                Models.CreateIfNotExistsAsync(cancellationToken),
                Artifacts.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
                TrialQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
                CompletionQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken));
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException or AggregateException)
        {
            throw new InvalidOperationException(
                $"Cannot reach Azure Storage ({e.Message}). Is Azurite running? Start it with scripts/azurite.sh.", e);
        }
    }
}
