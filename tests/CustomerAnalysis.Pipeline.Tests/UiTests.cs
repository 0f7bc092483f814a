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
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        // The routes it calls (relative to the API base) and the key header the local API checks.
        foreach (var route in new[] { "\"predict/\" + task", "\"models\"", "\"runs\"", "\"training/\"" })
            Assert.Contains(route, html);
        Assert.Contains(PipelineApi.ApiKeyHeader, html);
        Assert.Contains("sessionStorage", html);
    }
}
