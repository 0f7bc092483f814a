using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.Files;

namespace CustomerAnalysis.Ingestion.Tests.Files;

public class InputResolutionTests
{
    private const string OneRow =
        "{\"user_pseudo_id\":\"u\",\"event_timestamp\":\"1\",\"event_name\":\"e\",\"event_params\":[{\"key\":\"ga_session_id\",\"value\":{\"int_value\":\"1\"}}]}";

    private static TempFolder Export()
    {
        var temp = new TempFolder();
        temp.File("events_20210122.json", OneRow);
        temp.File("events_20210121.ndjson", OneRow);
        temp.File("events_20210123.jsonl", OneRow);
        temp.File("README.md", "not data");
        temp.File("Z_upper.json", OneRow);
        temp.File("nested/events_20210124.json", OneRow);
        temp.File("nested/deeper/events_20210125.json", OneRow);
        return temp;
    }

    [Fact]
    public void A_folder_means_its_own_export_files_in_ordinal_order()
    {
        using var temp = Export();

        var files = ((FileEventSource)EventSources.Open(temp.Path)).Files;

        Assert.Equal(["Z_upper.json", "events_20210121.ndjson", "events_20210122.json", "events_20210123.jsonl"],
            files.Select(Path.GetFileName));
        Assert.All(files, f => Assert.Equal(temp.Path, Path.GetDirectoryName(f)));
    }

    [Fact]
    public void A_glob_matches_file_names_in_its_folder()
    {
        using var temp = Export();

        var files = ((FileEventSource)EventSources.Open(Path.Combine(temp.Path, "events_2021012?.*json*"))).Files;

        Assert.Equal(["events_20210121.ndjson", "events_20210122.json", "events_20210123.jsonl"], files.Select(Path.GetFileName));
    }

    [Fact]
    public void A_double_star_glob_descends_into_subfolders()
    {
        using var temp = Export();

        var files = ((FileEventSource)EventSources.Open(temp.Path + "/**/events_*.json")).Files;

        Assert.Equal([
            Path.Combine(temp.Path, "events_20210122.json"),
            Path.Combine(temp.Path, "nested/deeper/events_20210125.json"),
            Path.Combine(temp.Path, "nested/events_20210124.json"),
        ], files);
    }

    [Fact]
    public void A_relative_glob_yields_relative_paths()
    {
        using var temp = Export();
        var previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = temp.Path;
        try
        {
            var files = ((FileEventSource)EventSources.Open("*/events_*.json")).Files;
            Assert.Equal(["nested/events_20210124.json"], files);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }

    [Fact]
    public async Task Rows_from_several_files_come_file_by_file_with_their_source()
    {
        using var temp = Export();

        var rows = await TestData.ReadAllAsync(EventSources.Open(Path.Combine(temp.Path, "events_*")));

        Assert.Equal(["events_20210121.ndjson", "events_20210122.json", "events_20210123.jsonl"],
            rows.Select(r => Path.GetFileName(r.Source)));
        Assert.All(rows, r => Assert.Equal(1, r.RowNumber));
    }

    [Fact]
    public void Bad_inputs_are_reported_in_one_line_naming_the_problem()
    {
        using var temp = Export();
        Directory.CreateDirectory(Path.Combine(temp.Path, "empty"));

        AssertInvalid(Path.Combine(temp.Path, "missing.parquet"), "Input not found");
        AssertInvalid(Path.Combine(temp.Path, "README.md"), "Unsupported input file");
        AssertInvalid(Path.Combine(temp.Path, "empty"), "holds no export files");
        AssertInvalid(Path.Combine(temp.Path, "*.parquet"), "No export files");
        AssertInvalid(Path.Combine(temp.Path, "nope", "*.json"), "does not exist");
        AssertInvalid("", "No input given");
    }

    [Fact]
    public async Task A_file_that_is_not_parquet_is_invalid_input()
    {
        using var temp = new TempFolder();
        var file = temp.File("fake.parquet", "this is not a parquet file at all");

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => TestData.ReadAllAsync(EventSources.Open(file)));

        Assert.Contains(file, error.Message);
    }

    private static void AssertInvalid(string input, string expected)
    {
        var error = Assert.Throws<InvalidInputException>(() => EventSources.Open(input));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
