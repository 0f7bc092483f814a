using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.BigQuery;

namespace CustomerAnalysis.Ingestion;

/// <summary>Settings for <see cref="EventSources.Open"/>. BigQuery reads use most of them; every source reads <see cref="Signals"/>.</summary>
public sealed record EventSourceOptions
{
    public static readonly Uri DefaultBigQueryBaseUrl = new("https://bigquery.googleapis.com");

    /// <summary>Extra GA4 fields to read from every source (Parquet, JSON, BigQuery) beside the required four; none by
    /// default. The prepare options' <c>signals</c> set it.</summary>
    public SignalSet Signals { get; init; } = SignalSet.None;

    /// <summary>Where the BigQuery REST API lives; tests point it at a local fake.</summary>
    public Uri BigQueryBaseUrl { get; init; } = DefaultBigQueryBaseUrl;

    /// <summary>
    /// The project that runs (and pays for) the query job; defaults to the table's project. Needed for public
    /// datasets, whose project does not let others run jobs. A <c>billing_project=</c> in the URI wins.
    /// </summary>
    public string? BigQueryBillingProject { get; init; }

    /// <summary>Supplies OAuth access tokens; null means Google application default credentials.</summary>
    public IAccessTokenProvider? BigQueryAccessTokens { get; init; }

    /// <summary>Running on Google Cloud: only then may the default credentials ask the metadata server
    /// (<c>CA_BIGQUERY_ON_GCE=true</c>). Off, a machine without a credential file fails at once, contacting nothing.</summary>
    public bool BigQueryOnGoogleCloud { get; init; }

    /// <summary>Rows per result page asked of BigQuery (it may send fewer: pages are also capped by size).</summary>
    public int BigQueryPageSize { get; init; } = 50_000;

    /// <summary>Attempts per request when BigQuery answers 429 or 5xx (or the connection fails).</summary>
    public int BigQueryMaxAttempts { get; init; } = 5;

    /// <summary>First retry delay; it doubles with each further attempt.</summary>
    public TimeSpan BigQueryRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Pause between polls of a query job that is not complete yet (each poll also waits server-side).</summary>
    public TimeSpan BigQueryPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a query job may stay incomplete before the read gives up.</summary>
    public TimeSpan BigQueryJobTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>BigQuery's <c>maximumBytesBilled</c> for each query job: a job that would bill more fails instead of
    /// running (null: the project's default). <c>CA_BIGQUERY_MAX_BYTES_BILLED</c> sets it.</summary>
    public long? BigQueryMaximumBytesBilled { get; init; }

    /// <summary>Defaults, with <c>CA_BIGQUERY_BASE_URL</c>, <c>CA_BIGQUERY_BILLING_PROJECT</c> and
    /// <c>CA_BIGQUERY_ON_GCE</c> (true/false) applied when set.</summary>
    public static EventSourceOptions FromEnvironment()
    {
        var options = new EventSourceOptions();
        var baseUrl = Environment.GetEnvironmentVariable("CA_BIGQUERY_BASE_URL");
        if (!string.IsNullOrWhiteSpace(baseUrl))
        {
            if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new InvalidInputException($"CA_BIGQUERY_BASE_URL is not an http(s) URL: {baseUrl}");
            options = options with { BigQueryBaseUrl = uri };
        }
        var billing = Environment.GetEnvironmentVariable("CA_BIGQUERY_BILLING_PROJECT");
        if (!string.IsNullOrWhiteSpace(billing)) options = options with { BigQueryBillingProject = billing };
        var maxBytes = Environment.GetEnvironmentVariable("CA_BIGQUERY_MAX_BYTES_BILLED");
        if (!string.IsNullOrWhiteSpace(maxBytes))
            options = options with
            {
                BigQueryMaximumBytesBilled = long.TryParse(maxBytes, out var bytes) && bytes > 0
                    ? bytes
                    : throw new InvalidInputException($"CA_BIGQUERY_MAX_BYTES_BILLED is not a positive number of bytes: {maxBytes}"),
            };
        var onGoogleCloud = Environment.GetEnvironmentVariable(GoogleAccessTokenProvider.OnGoogleCloudVariable);
        if (!string.IsNullOrWhiteSpace(onGoogleCloud))
        {
            options = options with
            {
                BigQueryOnGoogleCloud = onGoogleCloud.Trim().ToLowerInvariant() switch
                {
                    "true" or "1" => true,
                    "false" or "0" => false,
                    _ => throw new InvalidInputException(
                        $"{GoogleAccessTokenProvider.OnGoogleCloudVariable} must be true or false, not '{onGoogleCloud}'."),
                },
            };
        }
        return options;
    }
}
