using Microsoft.AspNetCore.Http;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>A request the API refuses: becomes an <c>application/problem+json</c> response with this status.</summary>
public sealed class ApiProblem(int status, string detail) : Exception(detail)
{
    public int Status { get; } = status;

    public static ApiProblem BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail);
    public static ApiProblem NotFound(string detail) => new(StatusCodes.Status404NotFound, detail);

    public IResult ToResult() => Results.Problem(detail: Message, statusCode: Status, title: Title(Status));

    private static string Title(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        503 => "Service unavailable",
        _ => "Error",
    };
}
