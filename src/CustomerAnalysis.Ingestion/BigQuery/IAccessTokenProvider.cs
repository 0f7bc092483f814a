using CustomerAnalysis.Core;
using Google.Apis.Auth.OAuth2;

namespace CustomerAnalysis.Ingestion.BigQuery;

/// <summary>Supplies the OAuth 2.0 bearer token sent with each BigQuery request.</summary>
public interface IAccessTokenProvider
{
    Task<string> GetAccessTokenAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Google application default credentials: the service-account JSON named by <c>GOOGLE_APPLICATION_CREDENTIALS</c>,
/// else <c>gcloud auth application-default login</c>, else the metadata server. Tokens are cached and refreshed by
/// Google.Apis.Auth.
/// </summary>
public sealed class GoogleAccessTokenProvider : IAccessTokenProvider
{
    private static readonly string[] Scopes =
    [
        "https://www.googleapis.com/auth/bigquery.readonly",
        "https://www.googleapis.com/auth/cloud-platform",
    ];

    private ITokenAccess? _credential;

    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        if (_credential is null)
        {
            try
            {
                var credential = await GoogleCredential.GetApplicationDefaultAsync(cancellationToken).ConfigureAwait(false);
                _credential = credential.CreateScoped(Scopes);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidInputException(
                    $"No Google credentials for BigQuery: set GOOGLE_APPLICATION_CREDENTIALS to a service-account JSON file or run 'gcloud auth application-default login' ({e.Message})", e);
            }
        }
        return await _credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
