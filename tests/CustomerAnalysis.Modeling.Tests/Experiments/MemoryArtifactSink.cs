using CustomerAnalysis.Modeling.Experiments;

namespace CustomerAnalysis.Modeling.Tests.Experiments;

/// <summary>An artifact sink in memory, as a Blob-storage sink would be: name → bytes.</summary>
internal sealed class MemoryArtifactSink : IArtifactSink
{
    public Dictionary<string, byte[]> Artifacts { get; } = new(StringComparer.Ordinal);

    public Stream Create(string name) => new Capture(bytes => Artifacts[name] = bytes);

    private sealed class Capture(Action<byte[]> onClose) : MemoryStream
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing) onClose(ToArray());
            base.Dispose(disposing);
        }
    }
}
