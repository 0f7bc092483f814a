using CustomerAnalysis.Core;
using Google.Apis.Auth.OAuth2;

namespace CustomerAnalysis.Ingestion.BigQuery;

/// <summary>Supplies the OAuth 2.0 bearer token sent with each BigQuery request.</summary>
public interface IAccessTokenProvider
{
    Task<string> GetAccessTokenAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The service-account JSON in <c>CA_BIGQUERY_CREDENTIALS_JSON</c> (in Azure an app setting that references the Key Vault
/// secret, so no file is needed), else Google application default credentials: the service-account JSON file named by
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c>, else <c>gcloud auth application-default login</c>, else the metadata
/// server. Tokens are cached and refreshed by Google.Apis.Auth.
/// </summary>
public sealed class GoogleAccessTokenProvider : IAccessTokenProvider
{
    private static readonly string[] Scopes =
    [
        "https://www.googleapis.com/auth/bigquery.readonly",
        "https://www.googleapis.com/auth/cloud-platform",
    ];

    public const string CredentialsJsonVariable = "CA_BIGQUERY_CREDENTIALS_JSON";

    private ITokenAccess? _credential;

    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        _credential ??= Environment.GetEnvironmentVariable(CredentialsJsonVariable) is { Length: > 0 } json
            ? FromServiceAccountJson(json)
            : await ApplicationDefaultAsync(cancellationToken).ConfigureAwait(false);
        return await _credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ITokenAccess> ApplicationDefaultAsync(CancellationToken cancellationToken)
    {
        try
        {
            var credential = await GoogleCredential.GetApplicationDefaultAsync(cancellationToken).ConfigureAwait(false);
            return credential.CreateScoped(Scopes);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidInputException(
                $"No Google credentials for BigQuery: set {CredentialsJsonVariable} to a service-account JSON key, GOOGLE_APPLICATION_CREDENTIALS to such a file, or run 'gcloud auth application-default login' ({e.Message})", e);
        }
    }

    /// <summary>A service account only: the JSON comes from configuration, so other credential types (which can run
    /// commands or reach arbitrary URLs) are refused.</summary>
    internal static ITokenAccess FromServiceAccountJson(string json)
    {
        try
        {
            return CredentialFactory.FromJson<ServiceAccountCredential>(json).ToGoogleCredential().CreateScoped(Scopes);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or Newtonsoft.Json.JsonException)
        {
            throw new InvalidInputException($"{CredentialsJsonVariable} is not a service-account JSON key: {e.Message}", e);
        }
    }
}
