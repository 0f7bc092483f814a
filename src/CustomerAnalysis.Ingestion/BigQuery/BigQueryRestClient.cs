using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Ingestion.BigQuery;

/// <summary>BigQuery kept failing (429/5xx or no connection) after every allowed attempt.</summary>
public sealed class BigQueryUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);

/// <summary>
/// The two REST calls a query read needs (jobs.query, jobs.getQueryResults), with a bearer token on each request,
/// 429/5xx and connection failures retried with exponential backoff, and other 4xx answers turned into
/// <see cref="InvalidInputException"/> carrying BigQuery's <c>error.message</c>.
/// </summary>
internal sealed class BigQueryRestClient(HttpClient http, EventSourceOptions options, IAccessTokenProvider tokens)
{
    private readonly string _apiRoot = options.BigQueryBaseUrl.ToString().TrimEnd('/') + "/bigquery/v2";

    /// <summary>jobs.query: <c>POST /projects/{project}/queries</c>.</summary>
    public Task<JsonDocument> QueryAsync(string project, JsonObject request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{_apiRoot}/projects/{Uri.EscapeDataString(project)}/queries", request, cancellationToken);

    /// <summary>jobs.getQueryResults: <c>GET /projects/{project}/queries/{jobId}</c>.</summary>
    public Task<JsonDocument> GetQueryResultsAsync(string project, string jobId, string? location, string? pageToken,
        int maxResults, CancellationToken cancellationToken)
    {
        var query = new StringBuilder($"?maxResults={maxResults}&timeoutMs=10000");
        if (location is not null) query.Append("&location=").Append(Uri.EscapeDataString(location));
        if (pageToken is not null) query.Append("&pageToken=").Append(Uri.EscapeDataString(pageToken));
        var url = $"{_apiRoot}/projects/{Uri.EscapeDataString(project)}/queries/{Uri.EscapeDataString(jobId)}{query}";
        return SendAsync(HttpMethod.Get, url, null, cancellationToken);
    }

    private async Task<JsonDocument> SendAsync(HttpMethod method, string url, JsonObject? body, CancellationToken cancellationToken)
    {
        var attempts = Math.Max(1, options.BigQueryMaxAttempts);
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            Exception? cause = null;
            try
            {
                using var request = new HttpRequestMessage(method, url);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer",
                    await tokens.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false));
                if (body is not null)
                    request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                    .ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                    return await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                var message = await ErrorMessageAsync(response, cancellationToken).ConfigureAwait(false);
                if (!IsRetryable(response.StatusCode))
                    throw new InvalidInputException($"BigQuery rejected {method} {Path(url)} ({(int)response.StatusCode}): {message}");
                failure = $"{(int)response.StatusCode} {message}";
            }
            catch (HttpRequestException e)
            {
                failure = e.Message;
                cause = e;
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = "request timed out";
                cause = e;
            }

            if (attempt >= attempts)
                throw new BigQueryUnavailableException(
                    $"BigQuery {method} {Path(url)} failed {attempts} times; last: {failure}", cause);
            var delay = options.BigQueryRetryDelay * Math.Pow(2, attempt - 1);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsRetryable(HttpStatusCode status) =>
        status == HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>The URL without the query string, for messages (page tokens are long and mean nothing to a user).</summary>
    private static string Path(string url) => url.Split('?')[0];

    /// <summary>BigQuery's <c>{"error":{"code","message","errors"}}</c> body; the raw text if it is not that.</summary>
    private static async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String)
                return message.GetString()!;
        }
        catch (JsonException)
        {
            // Not BigQuery's error shape (a proxy's HTML page, say): show the start of it instead.
        }
        var oneLine = text.ReplaceLineEndings(" ").Trim();
        return oneLine.Length == 0 ? response.ReasonPhrase ?? "no message" : oneLine[..Math.Min(200, oneLine.Length)];
    }
}
