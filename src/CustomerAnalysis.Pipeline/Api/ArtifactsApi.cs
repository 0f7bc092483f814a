using System.Text.Json.Serialization;
using CustomerAnalysis.Pipeline.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace CustomerAnalysis.Pipeline.Api;

public sealed record ArtifactEntry(
    /// <summary>Relative to the run: <c>trials/{trial}/plots/loss.png</c>, <c>evaluation/plots/roc_curve.png</c>.</summary>
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("content_type")] string ContentType);

public sealed record ArtifactListResponse(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("artifacts")] IReadOnlyList<ArtifactEntry> Artifacts);

/// <summary>
/// <c>GET /api/runs/{run}/artifacts</c> (what the run stored under <c>runs/{run}/</c>) and
/// <c>GET /api/runs/{run}/artifacts/{path}</c> (one of them, with its content type). A name is always read under its
/// run's prefix: <c>..</c>, <c>.</c>, empty segments, backslashes, a leading '/' and control characters are refused
/// (400), so no name reaches another run's blobs or the rest of the container.
/// </summary>
public sealed class ArtifactsApi(RunStore runs, ArtifactStore artifacts)
{
    private const int MaxNameLength = 512;

    // An artifact is data, never a page of this origin: an SVG opened directly must not run script or load anything.
    private const string ArtifactSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

    // GET /api/runs/{run}/artifacts
    public async Task<IResult> ListAsync(string runId, CancellationToken cancellationToken)
    {
        await RequireRunAsync(runId, cancellationToken);
        var prefix = Prefix(runId);
        var items = await artifacts.ListWithSizesAsync(prefix, cancellationToken);
        return Results.Json(new ArtifactListResponse(runId, items
            .Select(item => new ArtifactEntry(item.Name[prefix.Length..], item.Size, ContentType(item.Name)))
            .ToList()));
    }

    // GET /api/runs/{run}/artifacts/{**path}
    public async Task<IResult> GetAsync(string runId, string? path, HttpResponse response, CancellationToken cancellationToken)
    {
        var name = ValidateName(path);
        await RequireRunAsync(runId, cancellationToken);
        Stream content;
        try
        {
            content = await artifacts.OpenReadAsync(Prefix(runId) + name, cancellationToken);
        }
        catch (FileNotFoundException)
        {
            throw ApiProblem.NotFound($"Run '{runId}' has no artifact '{name}': GET /api/runs/{runId}/artifacts lists them.");
        }
        response.Headers.ContentSecurityPolicy = ArtifactSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        return Results.Stream(content, ContentType(name));
    }

    /// <summary>The artifact name, or a 400 naming what is wrong with it. Route values arrive with '%2F' still
    /// escaped in some hosts and decoded in others, so the name is unescaped once here and checked after.</summary>
    internal static string ValidateName(string? path)
    {
        if (string.IsNullOrEmpty(path))
            throw ApiProblem.BadRequest("An artifact name is needed: GET /api/runs/{run}/artifacts lists them.");
        string name;
        try
        {
            name = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
            throw ApiProblem.BadRequest($"Artifact name '{path}' is not a valid escaped path.");
        }
        if (name.Length > MaxNameLength)
            throw ApiProblem.BadRequest($"Artifact name is {name.Length} characters; the limit is {MaxNameLength}.");
        if (name.StartsWith('/'))
            throw ApiProblem.BadRequest($"Artifact name '{name}' is absolute: names are relative to the run's folder.");
        if (name.Any(c => c == '\\' || char.IsControl(c)))
            throw ApiProblem.BadRequest($"Artifact name '{name}' has a backslash or a control character.");
        if (name.Split('/').Any(segment => segment is "" or "." or ".."))
            throw ApiProblem.BadRequest(
                $"Artifact name '{name}' has an empty, '.' or '..' segment: names cannot leave the run's folder.");
        return name;
    }

    internal static string ContentType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        ".json" => "application/json",
        ".csv" => "text/csv; charset=utf-8",
        ".txt" => "text/plain; charset=utf-8",
        ".gz" => "application/gzip",
        _ => "application/octet-stream",
    };

    private static string Prefix(string runId) => $"runs/{runId}/";

    private async Task RequireRunAsync(string runId, CancellationToken cancellationToken)
    {
        // The run id becomes part of a blob prefix: only a recorded run (whose id Table keys accepted, so no '/')
        // can name one; '.' and '..' would be dot segments of the blob URL.
        if (runId is "." or ".." || await runs.GetRunAsync(runId, cancellationToken) is null)
            throw ApiProblem.NotFound($"No training run '{runId}'.");
    }
}

public static class ArtifactRoutes
{
    /// <summary>Maps the artifact routes into the keyed <c>/api</c> group.</summary>
    public static RouteGroupBuilder MapArtifactRoutes(this RouteGroupBuilder admin, ArtifactsApi artifacts)
    {
        admin.MapGet("/runs/{run}/artifacts", (string run, CancellationToken ct) =>
            PipelineApi.RunAsync(() => artifacts.ListAsync(run, ct)));
        admin.MapGet("/runs/{run}/artifacts/{**path}", (string run, string? path, HttpResponse response, CancellationToken ct) =>
            PipelineApi.RunAsync(() => artifacts.GetAsync(run, path, response, ct)));
        return admin;
    }
}
