using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>A request the API refuses: becomes an <c>application/problem+json</c> response with this status.</summary>
/// <param name="retryAfterSeconds">Sent as <c>Retry-After</c> (a 503 the client may retry).</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710", Justification =
    "It is the API's problem response (RFC 9457), thrown to end a handler; 'Exception' would misname what it carries.")]
public sealed class ApiProblem(int status, string detail, int? retryAfterSeconds = null) : Exception(detail)
{
    public int Status { get; } = status;
    public int? RetryAfterSeconds { get; } = retryAfterSeconds;

    public static ApiProblem BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);
    public static ApiProblem NotFound(string detail) => new(StatusCodes.Status404NotFound, detail);

    public IResult ToResult()
    {
        var problem = Results.Problem(detail: Message, statusCode: Status, title: Title(Status));
        return RetryAfterSeconds is { } seconds ? new WithRetryAfter(problem, seconds) : problem;
    }

    /// <summary>Writes this problem as the response (for middleware, where there is no endpoint result).</summary>
    public Task WriteAsync(HttpContext context) => ToResult().ExecuteAsync(context);

    private static string Title(int status) => status switch
    {
        500 => "Internal server error",
        _ => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error",
    };

    private sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
