using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>
/// A JSON request body read strictly, once for every route: media type, size, UTF-8, JSON syntax, and then every
/// string and key checked for text that cannot be decoded (a lone UTF-16 surrogate escape such as <c>"\ud800"</c>)
/// and for keys given twice. Past <see cref="ReadAsync"/> no string in the body can throw; the field readers below
/// name the field and the JSON type expected, so no serializer message (with its .NET type names) reaches a client.
/// </summary>
public sealed class JsonBody : IDisposable
{
    private readonly JsonDocument _document;

    private JsonBody(JsonDocument document) => _document = document;

    public JsonElement Root => _document.RootElement;

    public void Dispose() => _document.Dispose();

    /// <summary>Checks media type and size, then parses and checks the body (see the class).</summary>
    public static async Task<JsonBody> ReadAsync(HttpRequest request, int limit)
    {
        CheckMediaType(request.ContentType);
        if (request.ContentLength > limit)
            throw new ApiProblem(StatusCodes.Status413PayloadTooLarge,
                $"Body is {request.ContentLength} bytes; the limit is {limit}.");

        // Read at most limit + 1 bytes: a chunked body without Content-Length is held to the same limit.
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > limit)
                throw new ApiProblem(StatusCodes.Status413PayloadTooLarge, $"Body is over the limit of {limit} bytes.");
        }
        return Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    /// <summary>Parses and checks a body already read (see the class).</summary>
    public static JsonBody Parse(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
            throw ApiProblem.BadRequest("Body is empty: a JSON object is expected.");
        // The JSON reader does not check the UTF-8 of string contents, and decoding them later would throw.
        if (Utf8.ToUtf16(bytes.Span, new char[bytes.Length], out var validBytes, out _, replaceInvalidSequences: false)
            != OperationStatus.Done)
            throw ApiProblem.BadRequest($"Body is not valid UTF-8 (at byte {validBytes}): JSON must be sent as UTF-8 text.");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest(
                $"Body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {ReaderProblem(e)}");
        }
        try
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw ApiProblem.BadRequest($"Body must be a JSON object (got {Kind(document.RootElement)}).");
            CheckText(document.RootElement, "");
            return new JsonBody(document);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary><c>application/json</c> or <c>application/…+json</c>, in UTF-8 (the only encoding JSON allows).</summary>
    private static void CheckMediaType(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || !(mediaType.Type.Equals("application", StringComparison.OrdinalIgnoreCase)
                 && (mediaType.SubType.Equals("json", StringComparison.OrdinalIgnoreCase)
                     || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))))
            throw new ApiProblem(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/json (got '{contentType}').");
        if (mediaType.Charset.HasValue
            && !mediaType.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !mediaType.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
            throw new ApiProblem(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type charset must be utf-8 (got '{mediaType.Charset}').");
    }

    /// <summary>The reader's own words without its "Path: … | LineNumber: …" tail (the position is given apart).</summary>
    private static string ReaderProblem(JsonException e)
    {
        var message = e.Message;
        foreach (var tail in new[] { " Path: ", " LineNumber: " })
        {
            var at = message.IndexOf(tail, StringComparison.Ordinal);
            if (at > 0) message = message[..at];
        }
        return message.TrimEnd();
    }

    /// <summary>Decodes every key and string once, so that none can throw later, and refuses keys given twice.</summary>
    private static void CheckText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw ApiProblem.BadRequest(
                            $"A key in {Describe(path)} is not valid text: {LoneSurrogate}");
                    }
                    var at = Join(path, name);
                    if (!seen.Add(name))
                        throw ApiProblem.BadRequest($"'{at}' is given twice.");
                    CheckText(property.Value, at);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                    CheckText(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.String:
                try
                {
                    element.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw ApiProblem.BadRequest($"'{path}' is not valid text: {LoneSurrogate}");
                }
                break;
        }
    }

    private const string LoneSurrogate =
        "it holds a lone UTF-16 surrogate escape (\\ud800-\\udfff not part of a pair), which is no character.";

    private static string Describe(string path) => path.Length == 0 ? "the body" : $"'{path}'";

    /// <summary>The field path as the API names it: <c>overrides.config</c>, <c>sessions[1][0]</c>.</summary>
    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>The JSON type of a value, in words.</summary>
    public static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}

/// <summary>Reads the fields of a body object by the JSON type each must have; a wrong one is a 400 naming the field,
/// the type expected and the type given. Null is never a value: a field left at its default is left out.</summary>
public static class JsonFields
{
    /// <summary>Refuses keys other than <paramref name="allowed"/> (a misspelt field would silently be ignored).</summary>
    public static void AllowOnly(JsonElement obj, string path, params string[] allowed)
    {
        foreach (var property in obj.EnumerateObject())
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
                throw ApiProblem.BadRequest(
                    $"Unknown field '{JsonBody.Join(path, property.Name)}'; expected: {string.Join(", ", allowed.Select(a => $"'{JsonBody.Join(path, a)}'"))}.");
    }

    public static string? Text(JsonElement obj, string name, string path = "") =>
        Get(obj, name, path, JsonValueKind.String, "a string") is { } value ? value.GetString() : null;

    public static bool? Boolean(JsonElement obj, string name, string path = "")
    {
        if (!obj.TryGetProperty(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(JsonBody.Join(path, name), "true or false", value),
        };
    }

    /// <summary>An integer field within [min, max].</summary>
    public static int? WholeNumber(JsonElement obj, string name, int min, int max, string path = "")
    {
        if (!obj.TryGetProperty(name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min || number > max)
            throw ApiProblem.BadRequest(
                $"'{JsonBody.Join(path, name)}' must be an integer from {min} to {max} (got {Shown(value)}).");
        return number;
    }

    public static JsonElement? Nested(JsonElement obj, string name, string path = "") =>
        Get(obj, name, path, JsonValueKind.Object, "an object");

    /// <summary>An object field as a mutable node (for overrides merged into a config).</summary>
    public static JsonObject? Node(JsonElement obj, string name, string path = "") =>
        Nested(obj, name, path) is { } value ? JsonObject.Create(value) : null;

    private static JsonElement? Get(JsonElement obj, string name, string path, JsonValueKind kind, string expected)
    {
        if (!obj.TryGetProperty(name, out var value)) return null;
        if (value.ValueKind != kind)
            throw WrongType(JsonBody.Join(path, name), expected, value);
        return value;
    }

    private static ApiProblem WrongType(string field, string expected, JsonElement given) =>
        ApiProblem.BadRequest($"'{field}' has the wrong type: expected {expected}, got {JsonBody.Kind(given)}.");

    /// <summary>A number as written (short ones), else its JSON type.</summary>
    private static string Shown(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.GetRawText() is { Length: <= 24 } raw
            ? raw
            : JsonBody.Kind(value);
}
