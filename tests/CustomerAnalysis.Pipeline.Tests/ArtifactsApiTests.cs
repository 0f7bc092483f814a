using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Api;
using CustomerAnalysis.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerAnalysis.Pipeline.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class ArtifactsApiTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_run_lists_and_serves_its_artifacts_and_refuses_names_outside_it()
    {
        await using var server = await ServerHarness.StartAsync(azurite);
        var status = await server.TrainAsync("""{"source": "synthetic:300", "task": "events"}""");
        var runId = status.GetProperty("run").GetProperty("run_id").GetString()!;
        var trialId = status.GetProperty("trials")[0].GetProperty("trial_id").GetString()!;

        // What the names must never reach: another run's artifact and a blob outside every run.
        var store = server.Server.Services.GetRequiredService<ArtifactStore>();
        await store.UploadAsync("runs/other-run/secret.json", new MemoryStream("{\"secret\": 1}"u8.ToArray()));
        await store.UploadAsync("outside.txt", new MemoryStream("outside"u8.ToArray()));

        using var listResponse = await server.Http.SendAsync(ServerHarness.Get($"api/runs/{runId}/artifacts"));
        Assert.Equal(HttpStatusCode.OK, listResponse.StatusCode);
        var list = await listResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(runId, list.GetProperty("run_id").GetString());
        var entries = list.GetProperty("artifacts").EnumerateArray()
            .ToDictionary(a => a.GetProperty("name").GetString()!, a => a);
        // Names are relative to the run; nothing of another run is listed.
        Assert.Contains("dataset.json.gz", entries.Keys);
        Assert.Contains("data_summary.json", entries.Keys);
        var plot = $"trials/{trialId}/plots/loss.svg";
        Assert.Equal("image/svg+xml", entries[plot].GetProperty("content_type").GetString());
        Assert.True(entries[plot].GetProperty("size").GetInt64() > 0);
        Assert.DoesNotContain(entries.Keys, name => name.Contains("secret") || name.StartsWith("runs/"));

        using var svg = await server.Http.SendAsync(ServerHarness.Get($"api/runs/{runId}/artifacts/{plot}"));
        Assert.Equal(HttpStatusCode.OK, svg.StatusCode);
        Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("<svg xmlns", await svg.Content.ReadAsStringAsync());
        // An SVG opened directly is sandboxed: it cannot run script in this origin.
        Assert.Contains("sandbox", svg.Headers.GetValues("Content-Security-Policy").Single());

        using var summary = await server.Http.SendAsync(ServerHarness.Get($"api/runs/{runId}/artifacts/data_summary.json"));
        Assert.Equal("application/json", summary.Content.Headers.ContentType!.MediaType);
        var splits = (await summary.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("splits");
        Assert.Equal(210, splits.GetProperty("train").GetInt32());

        // Names that would leave the run: refused with a problem naming why, never the other blob's content.
        foreach (var escape in new[]
                 {
                     "..%2Fother-run%2Fsecret.json", "..%2F..%2Foutside.txt", "%2Fruns%2Fother-run%2Fsecret.json",
                     "trials%2F..%2F..%2Fother-run%2Fsecret.json", "..%5Cother-run%5Csecret.json", "a%2F%2Fb.json",
                     "trials/.%2Fx.png",
                 })
        {
            using var refused = await server.Http.SendAsync(ServerHarness.Get($"api/runs/{runId}/artifacts/{escape}"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
            var detail = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
            Assert.Contains("Artifact name", detail);
        }
        // Dot segments the server itself resolves before routing land elsewhere: still nothing served.
        foreach (var normalised in new[] { "%2E%2E/%2E%2E/other-run/secret.json", "../../other-run/secret.json" })
        {
            using var request = ServerHarness.Get($"api/runs/{runId}/artifacts/{normalised}");
            using var response = await server.Http.SendAsync(request);
            Assert.False(response.IsSuccessStatusCode, $"{normalised}: {response.StatusCode}");
            Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync());
        }

        using var missing = await server.Http.SendAsync(ServerHarness.Get($"api/runs/{runId}/artifacts/nope.png"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("has no artifact 'nope.png'",
            (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        foreach (var path in new[] { "api/runs/no-such-run/artifacts", "api/runs/no-such-run/artifacts/data_summary.json",
                     "api/runs/other-run/artifacts/secret.json" })
        {
            using var unknownRun = await server.Http.SendAsync(ServerHarness.Get(path));
            Assert.Equal(HttpStatusCode.NotFound, unknownRun.StatusCode);
            Assert.Contains("No training run", (await unknownRun.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        }
        using var noKey = await server.Http.SendAsync(ServerHarness.Get($"api/runs/{runId}/artifacts/{plot}", withKey: false));
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
    }

    [Fact]
    public async Task Predictions_name_the_input_events_the_model_does_not_know()
    {
        await using var server = await ServerHarness.StartAsync(azurite);
        await server.TrainAsync("""{"source": "synthetic:300", "task": "events"}""");
        using var response = await server.Http.SendAsync(ServerHarness.Json(HttpMethod.Post, "api/predict/next-event",
            """{"sessions": [["page_view", "not_an_event", "view_item", "also_unknown"], ["page_view"]]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions");
        Assert.Equal([1, 3], predictions[0].GetProperty("unknown").EnumerateArray().Select(i => i.GetInt32()));
        Assert.Empty(predictions[1].GetProperty("unknown").EnumerateArray());
    }

    [Theory]
    [InlineData("plots/roc_curve.png", "plots/roc_curve.png")]
    [InlineData("trials%2Ft1%2Fplots%2Floss.png", "trials/t1/plots/loss.png")]
    [InlineData("evaluation/attention.csv", "evaluation/attention.csv")]
    public void Names_inside_the_run_are_accepted_unescaped(string given, string expected) =>
        Assert.Equal(expected, ArtifactsApi.ValidateName(given));

    [Theory]
    [InlineData("", "needed")]
    [InlineData("..", "'..' segment")]
    [InlineData("a/../../b", "'..' segment")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("a\\b", "backslash")]
    [InlineData("a%00b", "control character")]
    [InlineData("a//b", "empty")]
    public void Names_that_could_leave_the_run_are_refused(string given, string reason)
    {
        var problem = Assert.Throws<ApiProblem>(() => ArtifactsApi.ValidateName(given));
        Assert.Equal(400, problem.Status);
        Assert.Contains(reason, problem.Message);
    }

    [Fact]
    public void Content_types_follow_the_extension() =>
        Assert.Equal(["image/png", "image/svg+xml", "application/json", "text/csv; charset=utf-8", "application/octet-stream"],
            new[] { "a.png", "b.SVG", "c.json", "d.csv", "checkpoint.bin" }.Select(ArtifactsApi.ContentType));
}
