using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>The config's storage section as client options: a connection string, or (when an account name or
/// endpoints are set, as the Functions platform's <c>AzureWebJobsStorage__accountName</c> style settings give them)
/// the public-cloud endpoints of the account and a <see cref="DefaultAzureCredential"/> for its managed identity.</summary>
internal static class StorageConnection
{
    // One credential per identity and process: each caches its tokens.
    private static readonly ConcurrentDictionary<string, TokenCredential> Credentials = new(StringComparer.Ordinal);

    public static PipelineStorageOptions ToOptions(PipelineConfig.StorageSection storage)
    {
        var account = string.IsNullOrWhiteSpace(storage.AccountName) ? null : storage.AccountName.Trim();
        var blob = storage.BlobServiceUri ?? Endpoint(account, "blob");
        if (blob == null)
        {
            if (storage.TableServiceUri != null || storage.QueueServiceUri != null)
                throw new InvalidInputException(
                    "Pipeline config: storage.table_service_uri/queue_service_uri need storage.blob_service_uri or storage.account_name too.");
            return new PipelineStorageOptions { ConnectionString = storage.ConnectionString, NamePrefix = storage.NamePrefix };
        }
        return new PipelineStorageOptions
        {
            ConnectionString = storage.ConnectionString,
            NamePrefix = storage.NamePrefix,
            BlobServiceUri = blob,
            TableServiceUri = storage.TableServiceUri ?? Endpoint(account, "table")
                ?? throw new InvalidInputException("Pipeline config: storage.blob_service_uri needs storage.table_service_uri (or set storage.account_name)."),
            QueueServiceUri = storage.QueueServiceUri ?? Endpoint(account, "queue"),
            Credential = Credentials.GetOrAdd(storage.ManagedIdentityClientId ?? "", clientId => new DefaultAzureCredential(
                new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId.Length == 0 ? null : clientId })),
        };
    }

    private static Uri? Endpoint(string? account, string service) =>
        account == null ? null : new Uri($"https://{account}.{service}.core.windows.net/");
}
