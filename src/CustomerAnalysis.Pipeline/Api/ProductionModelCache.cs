using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>A loaded production model with its registry identity.</summary>
public sealed record ServedModel(string Name, int Version, IPredictor Predictor);

/// <summary>
/// Serves the production version of each model: loaded once, then swapped when a promotion happens — at once when
/// this process promoted it (<see cref="IPromotionListener"/>), otherwise when the registry is next checked (at most
/// every <see cref="RefreshInterval"/>, in the background, so requests never wait on storage once a model is loaded).
/// </summary>
public sealed class ProductionModelCache(ModelRegistry registry, ArtifactStore artifacts, IModelLoader loader,
    TimeProvider clock) : IPromotionListener, IDisposable
{
    private sealed class Entry
    {
        public ServedModel? Model;
        public DateTimeOffset CheckedAt;
        public Task? Refresh;
        public readonly SemaphoreSlim LoadLock = new(1, 1);
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("ca-models-").FullName;

    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The production model named <paramref name="name"/>, or null when the registry has none.</summary>
    public async Task<ServedModel?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var entry = EntryFor(name);
        var model = Volatile.Read(ref entry.Model);
        if (model != null)
        {
            if (clock.GetUtcNow() - entry.CheckedAt > RefreshInterval)
                lock (_lock)
                    if (entry.Refresh is null or { IsCompleted: true })
                    {
                        entry.CheckedAt = clock.GetUtcNow();
                        entry.Refresh = Task.Run(() => RefreshAsync(name, entry, CancellationToken.None));
                    }
            return model;
        }
        await RefreshAsync(name, entry, cancellationToken);
        return Volatile.Read(ref entry.Model);
    }

    public void OnPromoted(string modelName, int version)
    {
        // Force the next request to check the registry (and load the new version) before answering.
        // Requests already holding the old predictor finish with it; it is left to the GC, not disposed.
        Volatile.Write(ref EntryFor(modelName).Model, null);
    }

    private Entry EntryFor(string name)
    {
        lock (_lock)
            return _entries.TryGetValue(name, out var entry) ? entry : _entries[name] = new Entry();
    }

    private async Task RefreshAsync(string name, Entry entry, CancellationToken cancellationToken)
    {
        await entry.LoadLock.WaitAsync(cancellationToken);
        try
        {
            entry.CheckedAt = clock.GetUtcNow();
            var production = await registry.GetProductionAsync(name, cancellationToken);
            var current = Volatile.Read(ref entry.Model);
            if (production == null)
            {
                Volatile.Write(ref entry.Model, null);
                return;
            }
            if (current?.Version == production.Version)
                return;

            var path = Path.Combine(_directory, $"{name}-v{production.Version}.bin");
            await artifacts.DownloadToFileAsync(production.CheckpointBlob, path, cancellationToken);
            var predictor = await loader.LoadAsync(path, cancellationToken);
            // Requests holding the old predictor may still be using it: it is left to the GC, not disposed here.
            Volatile.Write(ref entry.Model, new ServedModel(name, production.Version, predictor));
        }
        finally
        {
            entry.LoadLock.Release();
        }
    }

    public void Dispose()
    {
        lock (_lock)
            foreach (var entry in _entries.Values)
                entry.Model?.Predictor.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
