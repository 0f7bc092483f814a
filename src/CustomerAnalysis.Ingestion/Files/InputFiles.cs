using System.Text;
using System.Text.RegularExpressions;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Ingestion.Files;

/// <summary>The file formats a GA4 export can be read from, chosen by extension.</summary>
public enum ExportFormat { Parquet, Json }

/// <summary>
/// Turns a file, a folder or a glob into the export files to read, in ordinal path order.
/// A folder means its own supported files (not subfolders: a dataset folder often holds stats or notes beside the
/// export). A glob supports <c>*</c> and <c>?</c> in any path segment and <c>**</c> for any number of folders.
/// </summary>
public static class InputFiles
{
    private static readonly Dictionary<string, ExportFormat> FormatByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".parquet"] = ExportFormat.Parquet,
        [".json"] = ExportFormat.Json,
        [".jsonl"] = ExportFormat.Json,
        [".ndjson"] = ExportFormat.Json,
    };

    public static string SupportedExtensions => string.Join(", ", FormatByExtension.Keys);

    /// <summary>The format of <paramref name="path"/>, or null when its extension is not one of ours.</summary>
    public static ExportFormat? FormatOf(string path) =>
        FormatByExtension.TryGetValue(Path.GetExtension(path), out var format) ? format : null;

    public static IReadOnlyList<string> Resolve(string input)
    {
        if (string.IsNullOrWhiteSpace(input)) throw new InvalidInputException("No input given: expected a file, folder, glob or bq:// URI");
        try
        {
            if (IsGlob(input)) return FromGlob(input);
            if (Directory.Exists(input)) return FromFolder(input);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot list input {input}: {e.Message}", e);
        }
        if (File.Exists(input))
        {
            if (FormatOf(input) is null)
                throw new InvalidInputException($"Unsupported input file {input}: expected one of {SupportedExtensions}");
            return [input];
        }
        throw new InvalidInputException($"Input not found: {input} is neither a file nor a folder");
    }

    private static bool IsGlob(string input) => input.AsSpan().IndexOfAny('*', '?') >= 0;

    private static List<string> FromFolder(string folder)
    {
        var files = SupportedFiles(Directory.EnumerateFiles(folder));
        if (files.Count == 0)
            throw new InvalidInputException($"Folder {folder} holds no export files ({SupportedExtensions})");
        return files;
    }

    private static List<string> FromGlob(string glob)
    {
        var (root, patternSegments) = SplitGlob(glob);
        if (!Directory.Exists(root == "" ? "." : root))
            throw new InvalidInputException($"No files match {glob}: folder {(root == "" ? "." : root)} does not exist");
        var matches = new List<string>();
        Match(root, patternSegments, 0, matches);
        var files = SupportedFiles(matches);
        if (files.Count == 0)
            throw new InvalidInputException($"No export files ({SupportedExtensions}) match {glob}");
        return files;
    }

    private static List<string> SupportedFiles(IEnumerable<string> paths)
    {
        var files = paths.Where(p => FormatOf(p) is not null).ToList();
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Splits "data/2021/events_*.parquet" into the literal folder "data/2021" and the wildcard segments.</summary>
    private static (string Root, string[] Segments) SplitGlob(string glob)
    {
        var segments = glob.Replace('\\', '/').Split('/');
        var firstWild = Array.FindIndex(segments, s => s.AsSpan().IndexOfAny('*', '?') >= 0);
        var root = string.Join('/', segments[..firstWild]);
        if (firstWild > 0 && root == "") root = "/"; // an absolute glob such as /data/*.parquet
        return (root, segments[firstWild..]);
    }

    private static void Match(string folder, string[] segments, int index, List<string> matches)
    {
        var segment = segments[index];
        var isLast = index == segments.Length - 1;
        var listed = folder == "" ? "." : folder;
        if (segment == "**")
        {
            // Zero folders, then each subfolder recursively.
            if (isLast) matches.AddRange(Directory.EnumerateFiles(listed, "*", SearchOption.AllDirectories).Select(p => Relative(folder, listed, p)));
            else
            {
                Match(folder, segments, index + 1, matches);
                foreach (var sub in Directory.EnumerateDirectories(listed))
                    Match(Relative(folder, listed, sub), segments, index, matches);
            }
            return;
        }
        var pattern = SegmentRegex(segment);
        if (isLast)
        {
            matches.AddRange(Directory.EnumerateFiles(listed)
                .Where(p => pattern.IsMatch(Path.GetFileName(p))).Select(p => Relative(folder, listed, p)));
            return;
        }
        foreach (var sub in Directory.EnumerateDirectories(listed).Where(d => pattern.IsMatch(Path.GetFileName(d))))
            Match(Relative(folder, listed, sub), segments, index + 1, matches);
    }

    /// <summary>Keeps paths as the user wrote them: "events_*.json" yields "events_1.json", not "./events_1.json".</summary>
    private static string Relative(string folder, string listed, string path) =>
        folder == "" ? Path.GetRelativePath(listed, path) : path;

    private static Regex SegmentRegex(string segment)
    {
        var pattern = new StringBuilder("^");
        foreach (var c in segment)
            pattern.Append(c switch
            {
                '*' => "[^/]*",
                '?' => "[^/]",
                _ => Regex.Escape(c.ToString()),
            });
        return new Regex(pattern.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
