using System.Text.RegularExpressions;
using CustomerAnalysis.Pipeline.Api;

namespace CustomerAnalysis.Pipeline.Tests;

/// <summary>The web UI page itself; that the local server serves it is in <see cref="ApiTests"/> (its shared server).</summary>
public sealed class UiTests
{
    [Fact]
    public void The_page_is_self_contained_and_calls_the_api_routes_that_exist()
    {
        var html = UiPage.Html;

        Assert.StartsWith("<!DOCTYPE html>", html);
        // Nothing from elsewhere: no external script, stylesheet or image, no absolute URL at all.
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*[""'](https?:)?//", RegexOptions.IgnoreCase), html);
        // The one http:// string allowed is SVG's namespace name (an identifier for createElementNS, never fetched).
        var withoutSvgNamespace = html.Replace("\"http://www.w3.org/2000/svg\"", "\"\"");
        Assert.DoesNotContain("http://", withoutSvgNamespace);
        Assert.DoesNotContain("https://", withoutSvgNamespace);
        // The routes it calls (relative to the API base) and the key header the local API checks.
        foreach (var route in new[] { "\"predict/\" + task", "\"models\"", "\"runs\"", "\"training/\"" })
            Assert.Contains(route, html);
        Assert.Contains(PipelineApi.ApiKeyHeader, html);
        Assert.Contains("sessionStorage", html);
    }

    [Fact]
    public void The_page_says_how_to_give_times_and_turns_name_at_seconds_into_timestamps()
    {
        var html = UiPage.Html;
        Assert.Contains("<code>name@seconds</code>, seconds from the first event", html);

        // Run the page's parser in node (a test prerequisite already: Azurite runs on it).
        var start = html.IndexOf("function parseEvents", StringComparison.Ordinal);
        var parser = html[start..(html.IndexOf("\n}\n", start, StringComparison.Ordinal) + 3)];
        var script = Path.Combine(Path.GetTempPath(), $"ca-parse-{Guid.NewGuid():N}.js");
        File.WriteAllText(script, parser + """
            const now = Date.UTC(2021, 0, 21, 10, 0, 0);
            for (const text of ["session_start, page_view", "session_start@0, page_view@2, view_item@40", "a@0, b", "a@5, b@2"])
              console.log(JSON.stringify(parseEvents(text, now)));
            """);
        try
        {
            using var node = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("node", [script])
                { RedirectStandardOutput = true })!;
            var lines = node.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            node.WaitForExit();
            Assert.Equal(0, node.ExitCode);
            Assert.Equal("""{"events":["session_start","page_view"]}""", lines[0]);
            Assert.Equal("""{"events":[{"name":"session_start","timestamp":"2021-01-21T10:00:00.000Z"},""" +
                         """{"name":"page_view","timestamp":"2021-01-21T10:00:02.000Z"},""" +
                         """{"name":"view_item","timestamp":"2021-01-21T10:00:40.000Z"}]}""", lines[1]);
            Assert.Contains("every event or to none", lines[2]);
            Assert.Contains("must not go back", lines[3]);
        }
        finally
        {
            File.Delete(script);
        }
    }
}
