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
/// secret, so no file is needed), else Google application default credentials: the service-account JSON named by
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c>,
/// else <c>gcloud auth application-default login</c>'s file, else — only when running on Google Cloud is configured
/// (<see cref="EventSourceOptions.BigQueryOnGoogleCloud"/>, <c>CA_BIGQUERY_ON_GCE=true</c>) — the metadata server.
/// Google.Apis.Auth would otherwise probe the metadata endpoint (169.254.169.254) from any machine before giving up:
/// with nothing configured this fails at once instead, and nothing leaves the machine. Tokens are cached and
/// refreshed by Google.Apis.Auth.
/// </summary>
public sealed class GoogleAccessTokenProvider : IAccessTokenProvider
{
    public const string CredentialsVariable = "GOOGLE_APPLICATION_CREDENTIALS";
    public const string OnGoogleCloudVariable = "CA_BIGQUERY_ON_GCE";
    public const string CredentialsJsonVariable = "CA_BIGQUERY_CREDENTIALS_JSON";

    private static readonly string[] Scopes =
    [
        "https://www.googleapis.com/auth/bigquery.readonly",
        "https://www.googleapis.com/auth/cloud-platform",
    ];

    private readonly bool _onGoogleCloud;
    private readonly Func<string, string?> _environment;
    private readonly Func<CancellationToken, Task<GoogleCredential>> _applicationDefault;
    private ITokenAccess? _credential;

    public GoogleAccessTokenProvider(bool onGoogleCloud = false) : this(onGoogleCloud, Environment.GetEnvironmentVariable, null)
    {
    }

    /// <param name="environment">Reads an environment variable (tests pass their own).</param>
    /// <param name="applicationDefault">Google's lookup (tests pass one that records the call).</param>
    internal GoogleAccessTokenProvider(bool onGoogleCloud, Func<string, string?> environment,
        Func<CancellationToken, Task<GoogleCredential>>? applicationDefault)
    {
        _onGoogleCloud = onGoogleCloud;
        _environment = environment;
        _applicationDefault = applicationDefault ?? GoogleCredential.GetApplicationDefaultAsync;
    }

    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        if (_credential is null && _environment(CredentialsJsonVariable) is { Length: > 0 } json)
            _credential = FromServiceAccountJson(json);
        if (_credential is null)
        {
            EnsureCredentialsConfigured();
            try
            {
                var credential = await _applicationDefault(cancellationToken).ConfigureAwait(false);
                _credential = credential.CreateScoped(Scopes);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidInputException(
                    $"No Google credentials for BigQuery: set {CredentialsJsonVariable} to a service-account JSON key, {CredentialsVariable} to such a file, or run 'gcloud auth application-default login' ({e.Message})", e);
            }
        }
        return await _credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Throws at once, without any connection, unless a credential file is there or running on Google Cloud
    /// is configured (the only case where the metadata server may be asked).</summary>
    internal void EnsureCredentialsConfigured()
    {
        var named = _environment(CredentialsVariable);
        if (!string.IsNullOrWhiteSpace(named))
        {
            if (!File.Exists(named))
                throw new InvalidInputException($"{CredentialsVariable} names {named}, which does not exist.");
            return;
        }
        if (GcloudCredentialFile() is { } gcloud && File.Exists(gcloud)) return;
        if (_onGoogleCloud) return;
        throw new InvalidInputException(
            $"No Google credentials for BigQuery: set {CredentialsJsonVariable} to a service-account JSON key, " +
            $"{CredentialsVariable} to such a file, run " +
            $"'gcloud auth application-default login', or set {OnGoogleCloudVariable}=true when running on Google Cloud " +
            "(the metadata server is asked only then).");
    }

    /// <summary>Where <c>gcloud auth application-default login</c> writes its credentials (Google.Apis.Auth's own
    /// rule: <c>CLOUDSDK_CONFIG</c>, else %APPDATA%\gcloud on Windows, ~/.config/gcloud elsewhere).</summary>
    private string? GcloudCredentialFile()
    {
        var folder = _environment("CLOUDSDK_CONFIG");
        if (string.IsNullOrWhiteSpace(folder))
        {
            folder = OperatingSystem.IsWindows()
                ? _environment("APPDATA") is { Length: > 0 } appData ? Path.Combine(appData, "gcloud") : null
                : _environment("HOME") is { Length: > 0 } home ? Path.Combine(home, ".config", "gcloud") : null;
        }
        return folder is null ? null : Path.Combine(folder, "application_default_credentials.json");
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
