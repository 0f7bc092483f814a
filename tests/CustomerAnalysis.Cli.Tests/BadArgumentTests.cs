namespace CustomerAnalysis.Cli.Tests;

/// <summary>Every bad argument, on every command: exit 2, exactly one <c>error:</c> line and it is the last line on
/// stderr, no stack trace, nothing on stdout, and no .NET type name in the message.</summary>
public class BadArgumentTests(CliWorkspace workspace) : IClassFixture<CliWorkspace>
{
    // {file}: an existing file; {folder}: an existing folder; {missing}: a path that does not exist; {new}: a fresh
    // output folder; {export}: the workspace's export; {prepared}: its prepared events dataset; {config}: a model config.
    public static TheoryData<string, string> Cases => new()
    {
        // numbers: not a number, out of the type's range, out of the option's range
        { "predict --model {file} --events a --top abc", "--top" },
        { "predict --model {file} --events a --top 99999999999", "--top" },
        { "predict --model {file} --events a --top 0", "--top" },
        { "predict --model {file} --events a --top -3", "--top" },
        { "predict --model {file} --events a --top 1.5", "--top" },
        { "predict --model {file} --events a --top", "--top" },
        { "synth --out {new} --events abc", "--events" },
        { "synth --out {new} --events 0", "--events" },
        { "synth --out {new} --events 99999999999999999999", "--events" },
        { "synth --out {new} --days 0", "--days" },
        { "synth --out {new} --days 100000", "--days" },
        { "synth --out {new} --seed 1e3", "--seed" },
        { "synth --out {new} --start 2021-13-01", "--start" },
        { "synth --out {new} --start 9999-12-31", "--start" },
        { "serve --port 70000", "--port" },
        { "serve --port abc", "--port" },
        { "train --data {prepared} --task events --config {config} --out {new} --threads -1", "--threads" },
        { "train --data {prepared} --task events --config {config} --out {new} --threads many", "--threads" },
        // choices
        { "--protocol bogus", "--protocol" },
        { "prepare --input {export} --task events --out {new} --protocol bogus", "--protocol" },
        { "train --data {prepared} --task events --config {config} --out {new} --protocol python", "--protocol" },
        { "prepare --input {export} --task clicks --out {new}", "--task" },
        { "synth --out {new} --format xml", "--format" },
        { "frobnicate", "frobnicate" },
        { "prepare --input {export} --task events --out {new} --unknown-option", "--unknown-option" },
        { "prepare --task events --out {new}", "--input" },
        // files and folders of the wrong kind
        { "synth --out {file}", "--out" },
        { "prepare --input {export} --task events --out {file}", "--out" },
        { "train --data {prepared} --task events --config {config} --out {file}", "--out" },
        { "predict --model {missing} --events a", "--model" },
        { "predict --model {folder} --events a", "--model" },
        { "train --data {prepared} --task events --config {missing} --out {new}", "--config" },
        { "train --data {prepared} --task events --config {folder} --out {new}", "--config" },
        { "train --data {export} --task events --config {config} --data-config {missing} --out {new}", "--data-config" },
        { "prepare --input {export} --task events --out {new} --config {folder}", "--config" },
        { "serve --config {missing}", "missing" },
        { "run --config {missing}", "missing" },
        // values only the command can check
        { "serve --storage not-a-connection-string", "--storage" },
        { "serve --storage AccountName=x;AccountKey=%%%", "--storage" },
        { "predict --model {file} --events a,b --gaps 1,1e400", "--gaps" },
        { "predict --model {file} --events a,b --gaps 1,NaN", "--gaps" },
        { "predict --model {file} --events \u00A0,\u00A0", "--events" },
        { "predict --model {file} --events a", "not-a-model.ckpt is not a readable model checkpoint" },
        { "prepare --input {missing} --task events --out {new}", "missing" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_bad_argument_exits_2_with_exactly_one_error_line_last_on_stderr(string commandLine, string named)
    {
        var file = Path.Combine(workspace.Folder, "not-a-model.ckpt");
        File.WriteAllText(file, "not a checkpoint");
        var args = commandLine.Split(' ').Select(a => a
            .Replace("{file}", file)
            .Replace("{folder}", workspace.Folder)
            .Replace("{missing}", Path.Combine(workspace.Folder, "missing", "x.json"))
            .Replace("{new}", workspace.NewFolder("out"))
            .Replace("{export}", workspace.Export)
            .Replace("{prepared}", workspace.PreparedEvents)
            .Replace("{config}", workspace.TinyConfig)).ToArray();

        var result = CliRunner.Run(args);

        AssertOneErrorLine(result, exitCode: 2);
        Assert.Contains(named, LastLine(result));
    }

    [Fact]
    public void Ndjson_rows_with_none_of_the_ga4_fields_are_an_error_in_prepare_and_train()
    {
        var input = Path.Combine(workspace.NewFolder("not-ga4"), "events.ndjson");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.WriteAllText(input, """
            {"name": "a", "when": 1}
            {"name": "b", "when": 2}
            {"unrelated": true}
            """);

        var prepared = CliRunner.Run("prepare", "--input", input, "--task", "events", "--out", workspace.NewFolder("p"));
        var trained = CliRunner.Run("train", "--data", input, "--task", "churn", "--config", workspace.TinyConfig, "--out", workspace.NewFolder("t"));

        foreach (var result in new[] { prepared, trained })
        {
            AssertOneErrorLine(result, exitCode: 2);
            Assert.Contains("No events could be read", LastLine(result));
            Assert.Contains(input, LastLine(result));
            Assert.Contains("3 row(s), all rejected", LastLine(result));
        }
    }

    [Fact]
    public void Rows_whose_timestamp_or_session_is_not_an_integer_are_named_as_such()
    {
        var input = Path.Combine(workspace.NewFolder("bad-values"), "events.ndjson");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.WriteAllText(input, """
            {"user_pseudo_id": "u1", "event_name": "page_view", "event_timestamp": 1e400, "event_params": [{"key": "ga_session_id", "value": {"int_value": 1}}]}
            {"user_pseudo_id": "u1", "event_name": "page_view", "event_timestamp": "soon", "event_params": [{"key": "ga_session_id", "value": {"int_value": 1}}]}
            {"user_pseudo_id": "u1", "event_name": "page_view", "event_timestamp": 5, "event_params": [{"key": "ga_session_id", "value": {"int_value": "first"}}]}
            """);

        var result = CliRunner.Run("prepare", "--input", input, "--task", "events", "--out", workspace.NewFolder("p"));

        AssertOneErrorLine(result, exitCode: 2);
        Assert.Contains("2 missing or non-integer event_timestamp, 1 missing or non-integer ga_session_id", LastLine(result));
    }

    [Fact]
    public void An_empty_input_file_is_an_error()
    {
        var input = Path.Combine(workspace.NewFolder("empty"), "events.ndjson");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.WriteAllText(input, "");

        var result = CliRunner.Run("prepare", "--input", input, "--task", "events", "--out", workspace.NewFolder("p"));

        AssertOneErrorLine(result, exitCode: 2);
        Assert.Contains("holds no rows", LastLine(result));
    }

    [Fact]
    public void Events_from_which_no_sequence_can_be_made_are_an_error()
    {
        // Valid GA4 rows, but every session has a single event: nothing to predict.
        var input = Path.Combine(workspace.NewFolder("short"), "events.ndjson");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.WriteAllLines(input, Enumerable.Range(1, 3).Select(i =>
            $$$"""{"event_name":"page_view","user_pseudo_id":"u{{{i}}}","event_timestamp":"{{{1_600_000_000_000_000L + i}}}","event_params":[{"key":"ga_session_id","value":{"int_value":"{{{i}}}"}}]}"""));

        var result = CliRunner.Run("prepare", "--input", input, "--task", "events", "--out", workspace.NewFolder("p"));

        AssertOneErrorLine(result, exitCode: 2);
        Assert.Contains("No events sequences could be made", LastLine(result));
        Assert.Contains("fewer than 2 events", LastLine(result));
    }

    [Theory]
    [InlineData("Required command was not provided.", "Unrecognized command or argument 'x'.")]
    [InlineData("Argument 'bogus' not recognized. Must be one of:\n\t'default'\n\t'original'")]
    public void Parse_errors_become_one_line(params string[] messages)
    {
        var line = CommandLine.ParseErrorLine(messages);

        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("Required command", messages.Length > 1 ? line : "");
        Assert.EndsWith(".", line);
    }

    internal static string LastLine(CliResult result) =>
        result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).LastOrDefault() ?? "";

    internal static void AssertOneErrorLine(CliResult result, int exitCode)
    {
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, stderr: {result.Stderr}");
        Assert.Single(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.StartsWith("error:", lines[^1]);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        Assert.DoesNotContain("System.", result.Stderr);
        Assert.Equal("", result.Stdout);
    }
}
