using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Api;

/// <summary>A loaded production model with its registry identity.</summary>
public sealed record ServedModel(string Name, int Version, IPredictor Predictor);

/// <summary>The production model cannot be served right now (its checkpoint cannot be downloaded or loaded): a
/// server fault, not the client's, so the API answers 503.</summary>
public sealed class ModelUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Serves the production version of each model: loaded once, then swapped when a promotion happens — at once when
/// this process changed production (<see cref="IPromotionListener"/>), otherwise when the registry is next checked (at
/// most every <see cref="RefreshInterval"/>, in the background, so requests never wait on storage once a model is
/// loaded). A refresh that finds the loaded version still in production keeps it; a new one is swapped in once loaded.
/// </summary>
public sealed class ProductionModelCache(ModelRegistry registry, ArtifactStore artifacts, IModelLoader loader,
    TimeProvider clock) : IPromotionListener, IDisposable
{
    /// <summary>What a refresh installed, and the <see cref="Entry.Generation"/> it read the registry at.</summary>
    private sealed record Loaded(ServedModel? Model, long Generation);

    // Its SemaphoreSlim never hands out a wait handle, so it holds nothing to release; disposing it at shutdown could
    // only break a refresh still running.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "See above.")]
    private sealed class Entry
    {

        public Loaded? Current;
        /// <summary>Bumped on every production change this process hears of: a refresh that started before the
        /// latest change never installs what it read.</summary>
        public long Generation;
        public DateTimeOffset CheckedAt;
        public Task? BackgroundRefresh;
        public readonly SemaphoreSlim LoadLock = new(1, 1);
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("ca-models-").FullName;

    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The production model named <paramref name="name"/>, or null when the registry has none. Throws
    /// <see cref="ModelUnavailableException"/> when the production checkpoint cannot be loaded.</summary>
    public async Task<ServedModel?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var entry = EntryFor(name);
        if (UpToDate(entry) is { } model)
        {
            if (clock.GetUtcNow() - entry.CheckedAt > RefreshInterval)
                lock (_lock)
                    if (entry.BackgroundRefresh is null or { IsCompleted: true })
                    {
                        entry.CheckedAt = clock.GetUtcNow();
                        entry.BackgroundRefresh = Task.Run(() => BackgroundRefreshAsync(name, entry), CancellationToken.None);
                    }
            return model;
        }
        await RefreshAsync(name, entry, onlyIfOutdated: true, cancellationToken);
        return Volatile.Read(ref entry.Current)?.Model;
    }

    /// <summary>Production of <paramref name="modelName"/> changed (promoted to <paramref name="version"/>, or left
    /// production): the next request checks the registry before answering. The loaded model is kept until then, and
    /// kept after if it is still production.</summary>
    public void OnPromoted(string modelName, int version) => Interlocked.Increment(ref EntryFor(modelName).Generation);

    /// <summary>The loaded model when nothing changed since it was read; null when a refresh is needed.</summary>
    private static ServedModel? UpToDate(Entry entry) =>
        Volatile.Read(ref entry.Current) is { Model: { } model } current
        && current.Generation == Interlocked.Read(ref entry.Generation)
            ? model
            : null;

    private Entry EntryFor(string name)
    {
        lock (_lock)
            return _entries.TryGetValue(name, out var entry) ? entry : _entries[name] = new Entry();
    }

    private async Task BackgroundRefreshAsync(string name, Entry entry)
    {
        try
        {
            await RefreshAsync(name, entry, onlyIfOutdated: false, CancellationToken.None);
        }
        catch (Exception)
        {
            // The loaded model keeps serving; the next interval (or a request, if production changed) tries again.
        }
    }

    private async Task RefreshAsync(string name, Entry entry, bool onlyIfOutdated, CancellationToken cancellationToken)
    {
        await entry.LoadLock.WaitAsync(cancellationToken);
        try
        {
            // Requests that queued behind a refresh find it done: one registry read and one load, not one each.
            if (onlyIfOutdated && UpToDate(entry) != null)
                return;
            while (true)
            {
                var generation = Interlocked.Read(ref entry.Generation);
                entry.CheckedAt = clock.GetUtcNow();
                var production = await registry.GetProductionAsync(name, cancellationToken);
                var current = Volatile.Read(ref entry.Current)?.Model;
                var model = production == null ? null
                    : current?.Version == production.Version ? current
                    : await LoadAsync(name, production, cancellationToken);
                if (Interlocked.Read(ref entry.Generation) != generation)
                {
                    // Production changed while we read: what we read may be the old one. Nobody has seen a
                    // model loaded here, so it is disposed; read again.
                    if (model != current) model?.Predictor.Dispose();
                    continue;
                }
                // Requests holding the old predictor may still be using it: it is left to the GC, not disposed here.
                Volatile.Write(ref entry.Current, new Loaded(model, generation));
                return;
            }
        }
        finally
        {
            entry.LoadLock.Release();
        }
    }

    private async Task<ServedModel> LoadAsync(string name, ModelVersionRecord production, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_directory, $"{name}-v{production.Version}.bin");
        try
        {
            await artifacts.DownloadToFileAsync(production.CheckpointBlob, path, cancellationToken);
            return new ServedModel(name, production.Version, await loader.LoadAsync(path, cancellationToken));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Even an InvalidInputException from the loader (a damaged checkpoint) is our fault, not the client's.
            // A damaged checkpoint is said as the loader says it, with the blob's name for the local copy's path; a
            // storage error is not (it names the account's address).
            var cause = e is Core.InvalidInputException
                ? e.Message.Replace(path, production.CheckpointBlob, StringComparison.Ordinal)
                    .Replace(_directory, "(model folder)", StringComparison.Ordinal)
                : "its checkpoint could not be read";
            throw new ModelUnavailableException(
                $"Production model '{name}' v{production.Version} cannot be loaded: {cause}", e);
        }
    }

    public void Dispose()
    {
        lock (_lock)
            foreach (var entry in _entries.Values)
                entry.Current?.Model?.Predictor.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
