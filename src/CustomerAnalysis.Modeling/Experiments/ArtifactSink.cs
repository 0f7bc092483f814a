namespace CustomerAnalysis.Modeling.Experiments;

/// <summary>
/// Where experiment artifacts go, by name (<c>model.ckpt</c>, <c>plots/roc_curve.png</c>: '/'-separated, relative).
/// The command line writes to a folder; a pipeline can write to Blob storage.
/// </summary>
public interface IArtifactSink
{
    /// <summary>A new, writable stream for artifact <paramref name="name"/> (replacing any earlier one); the caller disposes it.</summary>
    Stream Create(string name);
}

/// <summary>Artifacts as files under a folder (sub-folders created as needed).</summary>
public sealed class FolderArtifactSink : IArtifactSink
{
    public FolderArtifactSink(string folder)
    {
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public Stream Create(string name)
    {
        var path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return File.Create(path);
    }

    /// <summary>The file an artifact name maps to; names that would leave the folder are refused.</summary>
    public string PathOf(string name)
    {
        var path = Path.GetFullPath(Path.Combine(Folder, name));
        if (!path.StartsWith(Folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"Artifact name '{name}' is not a relative path inside the output folder.", nameof(name));
        return path;
    }
}
