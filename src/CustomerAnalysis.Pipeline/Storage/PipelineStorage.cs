using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>Where the pipeline keeps its tables and blobs: a connection string (Azurite, a key-based account), or
/// service endpoints reached with an Entra ID credential (managed identity in Azure: the account refuses keys).</summary>
public sealed record PipelineStorageOptions
{
    /// <summary>Used when no <see cref="BlobServiceUri"/> is set.</summary>
    public string ConnectionString { get; init; } = StorageDefaults.AzuriteConnectionString;

    /// <summary>Identity-based access: the endpoints (e.g. from <c>AzureWebJobsStorage__accountName</c>).</summary>
    public Uri? BlobServiceUri { get; init; }
    public Uri? TableServiceUri { get; init; }
    public Uri? QueueServiceUri { get; init; }

    /// <summary>The credential for the endpoints; null: <see cref="DefaultAzureCredential"/> (managed identity in
    /// Azure, <c>AZURE_CLIENT_ID</c> picking a user-assigned one).</summary>
    public TokenCredential? Credential { get; init; }

    public bool UsesIdentity => BlobServiceUri != null;

    private TokenCredential IdentityCredential => Credential ?? SharedDefaultCredential.Value;

    // One per process: it caches its tokens.
    private static readonly Lazy<TokenCredential> SharedDefaultCredential = new(() => new DefaultAzureCredential());

    public BlobServiceClient CreateBlobServiceClient() => UsesIdentity
        ? new BlobServiceClient(BlobServiceUri, IdentityCredential)
        : new BlobServiceClient(ConnectionString);

    public TableServiceClient CreateTableServiceClient() => UsesIdentity
        ? new TableServiceClient(TableServiceUri ?? throw new InvalidOperationException("Identity-based storage needs a table service URI."), IdentityCredential)
        : new TableServiceClient(ConnectionString);

    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions clientOptions) => UsesIdentity
        ? new QueueServiceClient(QueueServiceUri ?? throw new InvalidOperationException("Identity-based storage needs a queue service URI."), IdentityCredential, clientOptions)
        : new QueueServiceClient(ConnectionString, clientOptions);

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
        var tables = options.CreateTableServiceClient();
        Runs = tables.GetTableClient(options.NamePrefix + "runs");
        Trials = tables.GetTableClient(options.NamePrefix + "trials");
        Models = tables.GetTableClient(options.NamePrefix + "models");
        Artifacts = options.CreateBlobServiceClient()
            .GetBlobContainerClient(options.NamePrefix.ToLowerInvariant() + "artifacts");
        // Work items are JSON text; base64 keeps them valid for every queue client (the Functions trigger decodes it).
        var queues = options.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
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
