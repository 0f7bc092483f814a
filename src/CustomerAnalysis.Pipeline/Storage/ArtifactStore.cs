using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>
/// Blob names say which run and trial an artifact belongs to:
/// <c>runs/{run}/dataset.json.gz</c>, <c>runs/{run}/trials/{trial}/checkpoint.bin</c>,
/// <c>runs/{run}/trials/{trial}/plots/{file}</c>, <c>runs/{run}/evaluation.json</c>,
/// <c>runs/{run}/evaluation/plots/{file}</c>.
/// Activities pass these names to each other, never the data.
/// </summary>
public static class ArtifactNames
{
    public static string Dataset(string runId) => $"runs/{runId}/dataset.json.gz";
    /// <summary>Shard k of n of a sharded prepare (merged into <see cref="Dataset"/>).</summary>
    public static string DatasetShard(string runId, int shard, int shards) =>
        $"runs/{runId}/dataset-shards/{shard:D4}-of-{shards:D4}.json.gz";
    public static string TrialFolder(string runId, string trialId) => $"runs/{runId}/trials/{trialId}/";
    public static string Checkpoint(string runId, string trialId) => TrialFolder(runId, trialId) + "checkpoint.bin";
    public static string Plot(string runId, string trialId, string fileName) =>
        TrialFolder(runId, trialId) + "plots/" + fileName;
    public static string Evaluation(string runId) => $"runs/{runId}/evaluation.json";
    /// <summary>The prepared data's summary (rows, users, labels, split sizes) as JSON, for the dashboard.</summary>
    public static string DataSummary(string runId) => $"runs/{runId}/data_summary.json";
    /// <summary>The winner's evaluation artifacts (plots, attention export): <c>runs/{run}/evaluation/{name}</c>.</summary>
    public static string EvaluationFolder(string runId) => $"runs/{runId}/evaluation/";
}

/// <summary>Reads and writes artifacts in the <c>{prefix}artifacts</c> container.</summary>
public sealed class ArtifactStore(PipelineStorage storage)
{
    private BlobContainerClient Container => storage.Artifacts;
    /// <summary>The container's name (tells apart the stores of side-by-side deployments).</summary>
    public string ContainerName => Container.Name;

    /// <summary>Uploads (overwriting: re-running an activity leaves one blob).</summary>
    public async Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken = default) =>
        await Container.GetBlobClient(blobName).UploadAsync(content, overwrite: true, cancellationToken);

    public async Task UploadFileAsync(string blobName, string path, CancellationToken cancellationToken = default)
    {
        await using var file = File.OpenRead(path);
        await UploadAsync(blobName, file, cancellationToken);
    }

    /// <summary>A writable stream that becomes the blob when disposed (for writers that only take a stream).</summary>
    public Stream OpenWrite(string blobName) => Container.GetBlobClient(blobName).OpenWrite(overwrite: true);

    public async Task<bool> ExistsAsync(string blobName, CancellationToken cancellationToken = default) =>
        (await Container.GetBlobClient(blobName).ExistsAsync(cancellationToken)).Value;

    /// <exception cref="FileNotFoundException">The blob does not exist.</exception>
    public async Task<Stream> OpenReadAsync(string blobName, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Container.GetBlobClient(blobName).OpenReadAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new FileNotFoundException($"Blob '{blobName}' not found in container '{Container.Name}'.", e);
        }
    }

    public async Task DownloadToFileAsync(string blobName, string path, CancellationToken cancellationToken = default)
    {
        try
        {
            await Container.GetBlobClient(blobName).DownloadToAsync(path, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new FileNotFoundException($"Blob '{blobName}' not found in container '{Container.Name}'.", e);
        }
    }

    /// <summary>Blob names under a prefix (e.g. <see cref="ArtifactNames.TrialFolder"/>), sorted.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        await foreach (BlobItem item in Container.GetBlobsAsync(
                           new GetBlobsOptions { Prefix = prefix }, cancellationToken))
            names.Add(item.Name);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Blob names under a prefix with their sizes in bytes, sorted by name.</summary>
    public async Task<IReadOnlyList<(string Name, long Size)>> ListWithSizesAsync(string prefix,
        CancellationToken cancellationToken = default)
    {
        var items = new List<(string Name, long Size)>();
        await foreach (BlobItem item in Container.GetBlobsAsync(
                           new GetBlobsOptions { Prefix = prefix }, cancellationToken))
            items.Add((item.Name, item.Properties.ContentLength ?? 0));
        items.Sort((a, b) => StringComparer.Ordinal.Compare(a.Name, b.Name));
        return items;
    }
}
