using Azure.Storage.Blobs;
using CustomerAnalysis.Core;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class LocalSourceTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("../escape.parquet")]
    [InlineData("day1/../../escape.parquet")]
    [InlineData("..")]
    public void A_blob_name_that_leaves_the_download_folder_is_refused(string relativeName)
    {
        var folder = Path.Combine(Path.GetTempPath(), "ca-source-test");

        var error = Assert.Throws<InvalidInputException>(() => LocalSource.TargetPath(folder, relativeName, "blob://c/p"));
        Assert.Contains(relativeName, error.Message);
    }

    [Fact]
    public void Blob_names_inside_the_folder_map_below_it()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ca-source-test");

        Assert.Equal(Path.Combine(folder, "day1", "events.parquet"), LocalSource.TargetPath(folder, "/day1/events.parquet", "blob://c/p"));
    }

    [Fact]
    public async Task A_failed_download_leaves_no_temporary_folder()
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(AzuriteFixture.UniqueName("src"));
        await container.CreateAsync();
        await container.GetBlobClient("data/a.json").UploadAsync(BinaryData.FromString("{}"));
        await container.GetBlobClient("data/b.json").UploadAsync(BinaryData.FromString("{}"));
        var before = TemporarySourceFolders();

        // A container that does not exist: listing fails (404) after the download folder was created.
        await Assert.ThrowsAsync<Azure.RequestFailedException>(() =>
            LocalSource.ResolveAsync($"blob://{AzuriteFixture.UniqueName("missing")}/data", new PipelineStorageOptions { ConnectionString = azurite.ConnectionString }));
        await Assert.ThrowsAsync<InvalidInputException>(() =>
            LocalSource.ResolveAsync($"blob://{container.Name}/nothing-here", new PipelineStorageOptions { ConnectionString = azurite.ConnectionString }));

        Assert.Equal(before, TemporarySourceFolders());
        using var resolved = await LocalSource.ResolveAsync($"blob://{container.Name}/data", new PipelineStorageOptions { ConnectionString = azurite.ConnectionString });
        Assert.Equal(["a.json", "b.json"], Directory.GetFiles(resolved.Path).Select(Path.GetFileName).Order());
    }

    private static string[] TemporarySourceFolders() =>
        Directory.GetDirectories(Path.GetTempPath(), "ca-source-*").Order().ToArray();
}
