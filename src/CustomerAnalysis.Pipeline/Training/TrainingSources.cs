using System.Text.RegularExpressions;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.BigQuery;

namespace CustomerAnalysis.Pipeline.Training;

/// <summary>
/// Checks a training source when the run is asked for (<c>POST /api/training</c>), so that one that can never work
/// is a 400 at submit instead of a run that fails later: no control characters (a NUL), only the schemes the pipeline
/// reads (<c>blob://</c> here, with Azure's container naming rules; <c>bq://</c> and local paths by the preparer,
/// <see cref="IDatasetPreparer.CheckSource"/>). What needs the data itself (blobs under a prefix, BigQuery access)
/// is left to the run.
/// </summary>
public static partial class TrainingSources
{
    public const string BlobScheme = "blob://";

    public static void Check(string source, IDatasetPreparer preparer)
    {
        var control = source.IndexOfAny([.. Enumerable.Range(0, 32).Select(c => (char)c), '\u007f']);
        if (control >= 0)
            throw new InvalidInputException(
                $"'source' holds a control character (U+{(int)source[control]:X4}) at {control}: no path or URI has one.");
        if (source.StartsWith(BlobScheme, StringComparison.OrdinalIgnoreCase))
        {
            CheckBlob(source);
            return;
        }
        if (UriScheme().Match(source) is { Success: true } scheme
            && !source.StartsWith(BigQueryTableRange.Scheme, StringComparison.OrdinalIgnoreCase))
            throw new InvalidInputException(
                $"Source scheme '{scheme.Value}' is not read by the pipeline: give a path on the server, " +
                $"{BlobScheme}container/prefix or {BigQueryTableRange.Scheme}project.dataset.table.");
        preparer.CheckSource(source);
    }

    /// <summary><c>blob://container/prefix</c>: the container named by Azure's rules (3-63 lowercase letters, digits
    /// and single hyphens, starting and ending with a letter or digit), the prefix a valid blob name prefix.</summary>
    public static void CheckBlob(string source)
    {
        var rest = source[BlobScheme.Length..];
        var slash = rest.IndexOf('/');
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        if (container.Length == 0)
            throw new InvalidInputException($"Source '{source}' names no container: use {BlobScheme}container/prefix.");
        if (!ContainerName().IsMatch(container) || container.Contains("--", StringComparison.Ordinal))
            throw new InvalidInputException(
                $"Source '{source}': '{container}' is not a valid container name (3-63 lowercase letters, digits and " +
                "single hyphens, starting and ending with a letter or digit).");
        if (prefix.Length > 1024)
            throw new InvalidInputException($"Source '{source}': the blob prefix is over 1024 characters.");
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*:/{1,2}")]
    private static partial Regex UriScheme();

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")]
    private static partial Regex ContainerName();
}
