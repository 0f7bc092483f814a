using System.Text;
using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using static CustomerAnalysis.Core.Tests.Preparation.TestEvents;

namespace CustomerAnalysis.Core.Tests.Preparation;

public sealed class PreparedDatasetFilesTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"ca-prepared-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(PredictionTask.Events)]
    [InlineData(PredictionTask.Churn)]
    public async Task A_written_dataset_reads_back_the_same(PredictionTask task)
    {
        var dataset = SampleDataset(task);

        await PreparedDatasetFiles.WriteAsync(dataset, _folder);
        var read = await PreparedDatasetFiles.ReadAsync(_folder);

        Assert.Equal(dataset.Task, read.Task);
        Assert.Equal(dataset.Options, read.Options);
        Assert.Equal(dataset.Vocabulary.Tokens, read.Vocabulary.Tokens);
        Assert.Equal(JsonSerializer.Serialize(dataset.Summary), JsonSerializer.Serialize(read.Summary));
        Assert.Equal(dataset.Summary.Labels.GetType(), read.Summary.Labels.GetType());
        AssertSameExamples(dataset.Train, read.Train);
        AssertSameExamples(dataset.Validation, read.Validation);
        AssertSameExamples(dataset.Test, read.Test);
    }

    [Fact]
    public async Task The_folder_is_readable_json_with_one_example_per_line()
    {
        var dataset = SampleDataset(PredictionTask.Events);

        await PreparedDatasetFiles.WriteAsync(dataset, _folder);

        var manifest = await File.ReadAllTextAsync(Path.Combine(_folder, "manifest.json"));
        Assert.Contains("\"<PAD>\"", manifest);
        using (var document = JsonDocument.Parse(manifest))
        {
            Assert.Equal(1, document.RootElement.GetProperty("format_version").GetInt32());
            Assert.Equal("events", document.RootElement.GetProperty("task").GetString());
            Assert.Equal("user", document.RootElement.GetProperty("options").GetProperty("split_mode").GetString());
        }
        var lines = await File.ReadAllLinesAsync(Path.Combine(_folder, "train.jsonl"));
        Assert.Equal(dataset.Train.Count, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(["id", "user", "tokens", "gap_seconds", "label", "time"], first.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Stream_variants_leave_the_stream_open()
    {
        var dataset = SampleDataset(PredictionTask.Churn);
        using var examples = new MemoryStream();
        using var manifest = new MemoryStream();

        await PreparedDatasetFiles.WriteExamplesAsync(dataset.Train, examples);
        await PreparedDatasetFiles.WriteManifestAsync(dataset, manifest);
        examples.Position = 0;
        manifest.Position = 0;
        var readManifest = await PreparedDatasetFiles.ReadManifestAsync(manifest, "blob:manifest.json");
        var readExamples = await PreparedDatasetFiles.ReadExamplesAsync(examples, "blob:train.jsonl", readManifest);

        Assert.True(examples.CanRead && manifest.CanRead);
        Assert.Equal(PredictionTask.Churn, readManifest.Task);
        AssertSameExamples(dataset.Train, readExamples);
    }

    [Theory]
    [InlineData("manifest.json")]
    [InlineData("val.jsonl")]
    public async Task A_folder_missing_a_file_is_not_a_dataset(string missing)
    {
        await PreparedDatasetFiles.WriteAsync(SampleDataset(PredictionTask.Events), _folder);
        File.Delete(Path.Combine(_folder, missing));

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => PreparedDatasetFiles.ReadAsync(_folder));

        Assert.Contains(missing, error.Message);
        Assert.Contains("not a prepared dataset", error.Message);
    }

    [Theory]
    [InlineData("""{"id":"a","user":"a","tokens":[2],"gap_seconds":[0]}""", "line 2")]
    [InlineData("""{"id":"a","user":"a","tokens":[2,3],"gap_seconds":[0],"label":1}""", "gap_seconds")]
    [InlineData("""{"id":"a","user":"a","tokens":[999],"gap_seconds":[0],"label":1}""", "outside the vocabulary")]
    [InlineData("""{"id":"a","user":"a","tokens":[2],"gap_seconds":[0],"label":5}""", "label 5")]
    [InlineData("not json", "line 2")]
    public async Task A_bad_example_line_names_the_file_and_line(string badLine, string expected)
    {
        var dataset = SampleDataset(PredictionTask.Churn);
        await PreparedDatasetFiles.WriteAsync(dataset, _folder);
        var train = Path.Combine(_folder, "train.jsonl");
        var lines = await File.ReadAllLinesAsync(train);
        lines[1] = badLine;
        await File.WriteAllLinesAsync(train, lines);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => PreparedDatasetFiles.ReadAsync(_folder));

        Assert.Contains("train.jsonl line 2", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task A_manifest_of_another_format_version_is_refused()
    {
        var dataset = SampleDataset(PredictionTask.Events);
        using var manifest = new MemoryStream();
        await PreparedDatasetFiles.WriteManifestAsync(dataset, manifest);
        var text = Encoding.UTF8.GetString(manifest.ToArray()).Replace("\"format_version\": 1", "\"format_version\": 2");

        var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
            PreparedDatasetFiles.ReadManifestAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), "m.json"));

        Assert.Contains("format_version", error.Message);
    }

    [Fact]
    public async Task A_split_file_that_disagrees_with_the_manifest_is_refused()
    {
        await PreparedDatasetFiles.WriteAsync(SampleDataset(PredictionTask.Events), _folder);
        var test = Path.Combine(_folder, "test.jsonl");
        await File.WriteAllLinesAsync(test, (await File.ReadAllLinesAsync(test)).Skip(1));

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => PreparedDatasetFiles.ReadAsync(_folder));

        Assert.Contains("test.jsonl", error.Message);
    }

    private static PreparedDataset SampleDataset(PredictionTask task)
    {
        var events = new TestEvents();
        for (var u = 0; u < 30; u++)
        {
            events.Add($"user.{u}", 1, Seconds(u), "session_start");
            events.Add($"user.{u}", 1, Seconds(u) + 1_234_567, "page_view");
            events.Add($"user.{u}", 1, Seconds(u) + 2_000_001, u % 3 == 0 ? "purchase" : "scroll");
            events.Add($"user.{u}", 2, Seconds(u) + Hours(u % 2 == 0 ? 2 : 30), "page_view");
            events.Add($"user.{u}", 2, Seconds(u) + Hours(u % 2 == 0 ? 2 : 30) + 5, "user_engagement");
        }
        events.Add("late", 9, Hours(24 * 5), "page_view");
        return DatasetPreparer.Prepare(events.Build(), task, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
    }

    private static void AssertSameExamples(IReadOnlyList<SequenceExample> expected, IReadOnlyList<SequenceExample> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.NotEmpty(expected);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Id, actual[i].Id);
            Assert.Equal(expected[i].User, actual[i].User);
            Assert.Equal(expected[i].Tokens, actual[i].Tokens);
            Assert.Equal(expected[i].GapSeconds, actual[i].GapSeconds);
            Assert.Equal(expected[i].Label, actual[i].Label);
            Assert.Equal(expected[i].Time, actual[i].Time);
        }
    }
}
