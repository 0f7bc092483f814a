using Microsoft.AspNetCore.Http;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>
/// The web UI: one self-contained page (HTML, CSS and JavaScript inline; no CDN, no build step) embedded in this
/// assembly. It predicts, lists model versions and browses training runs through the HTTP API, calling it relative to
/// where it is served: <c>ca serve</c> maps it at <c>/</c> and <c>/ui</c> (<see cref="ApiRoutes.MapCustomerAnalysisUi"/>),
/// the Functions app at <c>/api/ui</c>.
/// </summary>
public static class UiPage
{
    private const string ResourceName = "CustomerAnalysis.Pipeline.Api.Ui.index.html";

    // The page may run its inline script and styles and call this origin's API, nothing else: a stray external
    // reference fails loudly in the browser instead of silently needing the internet. Images: its own drawings
    // (data:), and the run's stored plots, fetched with the key and shown as blob: URLs.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
        "img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Lazy<byte[]> Page = new(Load);

    /// <summary>The page's HTML.</summary>
    public static string Html => System.Text.Encoding.UTF8.GetString(Page.Value);

    /// <summary>The page as a response (<c>text/html</c>, with a content security policy).</summary>
    public static IResult Result() => new PageResult();

    private static byte[] Load()
    {
        using var stream = typeof(UiPage).Assembly.GetManifestResourceStream(ResourceName)
                           ?? throw new InvalidOperationException(
                               $"The web UI resource '{ResourceName}' is missing from {typeof(UiPage).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private sealed class PageResult : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/html; charset=utf-8";
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers.CacheControl = "no-cache";
            response.ContentLength = Page.Value.Length;
            return response.Body.WriteAsync(Page.Value).AsTask();
        }
    }
}
