using System.Net.Http.Json;
using System.Text.Json;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CustomerAnalysis.Ui.Tests;

/// <summary>The web UI in a real browser (chromium, headless) against the local server: every view, the error states,
/// a stage change with its history, comparing trials and runs, churn attention, uploads and a 360 px viewport. Screenshots of each go to TestResults/screenshots/.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "Dashboard";
}

[Collection(DashboardCollection.Name)]
public sealed class DashboardTests(DashboardFixture ui)
{
    [Fact]
    public async Task Predict_marks_unknown_events_and_shows_attention_per_event()
    {
        var page = await ui.NewPageAsync(withKey: false);
        await page.GotoAsync("/?events=page_view,mystery_event,view_item&top=3");

        await page.Locator(".bars").WaitForAsync();
        Assert.Equal(3, await page.Locator(".bars .bar").CountAsync());
        Assert.Contains("'mystery_event' (#2)", await page.Locator("#unknown-events").InnerTextAsync());
        var unknownCell = page.Locator(".heatmap .cell.unknown");
        Assert.Equal(1, await unknownCell.CountAsync());
        Assert.Contains("mystery_event", await unknownCell.InnerTextAsync());
        Assert.Equal(3, await page.Locator(".heatmap .cell").CountAsync());
        await DashboardFixture.ScreenshotAsync(page, "predict");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_uploaded_csv_is_scored_in_one_batch_with_unknown_events_named()
    {
        var page = await ui.NewPageAsync(withKey: false);
        await page.GotoAsync("/#predict");
        await page.SetInputFilesAsync("#batch-file", new FilePayload
        {
            Name = "sessions.csv", MimeType = "text/csv",
            Buffer = "page_view,view_item\nadd_to_cart\n\nview_item,mystery_event\n"u8.ToArray(),
        });
        var rows = page.Locator("#batch-table tbody tr");
        await rows.First.WaitForAsync();
        Assert.Equal(3, await rows.CountAsync());
        // The funnel rule of the synthetic data: after view_item comes add_to_cart, after add_to_cart begin_checkout.
        Assert.Contains("add_to_cart", await rows.Nth(0).InnerTextAsync());
        Assert.Contains("begin_checkout", await rows.Nth(1).InnerTextAsync());
        Assert.EndsWith("mystery_event", (await rows.Nth(2).Locator("td").Last.InnerTextAsync()).Trim());
        await DashboardFixture.ScreenshotAsync(page, "predict-batch");

        // A file that is not what the page expects: the problem, not a half-drawn table.
        await page.SetInputFilesAsync("#batch-file", new FilePayload
        {
            Name = "bad.json", MimeType = "application/json", Buffer = "{\"sessions\": 3}"u8.ToArray(),
        });
        await page.Locator("#batch-error", new() { HasText = "bad.json: expected" }).WaitForAsync();
        Assert.Equal(0, await rows.CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Runs_list_shows_metrics_and_duration_and_filters_and_sorts()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/#runs");
        var rows = page.Locator("#runs-list tbody tr");
        await rows.First.WaitForAsync();
        Assert.Equal(3, await rows.CountAsync());
        // Test metric columns and the duration of the completed run.
        Assert.Equal(1, await page.Locator("#runs-list thead button[data-sort='metric:accuracy']").CountAsync());
        var completed = page.Locator($"#runs-list tr[data-run='{ui.CompletedRun}']");
        Assert.Matches(@"\d+(\.\d)? s", await completed.Locator("td").Nth(7).InnerTextAsync());

        // Newest first by default: the failed run was started second. Sorting by Created again flips it.
        Assert.Equal(ui.FailedRun, await rows.First.GetAttributeAsync("data-run"));
        await page.Locator("button[data-sort='created_at']").ClickAsync();
        Assert.Equal(ui.CompletedRun, await rows.First.GetAttributeAsync("data-run"));

        await page.SelectOptionAsync("#filter-status", "failed");
        Assert.Equal(1, await rows.CountAsync());
        Assert.Equal(ui.FailedRun, await rows.First.GetAttributeAsync("data-run"));
        await page.SelectOptionAsync("#filter-status", "");
        await page.SelectOptionAsync("#filter-task", "churn");
        Assert.Contains("No run matches", await page.Locator("#runs-table").InnerTextAsync());
        await page.SelectOptionAsync("#filter-task", "");
        await DashboardFixture.ScreenshotAsync(page, "runs");

        // Keyboard: the run link is reachable and opens the run.
        await completed.Locator("a").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync($"**/#run/{ui.CompletedRun}");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Run_detail_draws_training_curves_and_shows_plots_metrics_data_and_config()
    {
        var page = await ui.NewPageAsync();
        ui.ConsoleErrors.Clear();
        await page.GotoAsync($"/#run/{ui.CompletedRun}");

        var charts = page.Locator("svg[data-trial]");
        await charts.First.WaitForAsync();
        Assert.Equal(ui.Trials.Count, await charts.CountAsync());
        // Each chart has its loss curves and the validation metric, with the best epoch marked where it is.
        foreach (var series in new[] { "train_loss", "val_loss", "val_accuracy" })
            Assert.Equal(ui.Trials.Count, await page.Locator($"svg[data-trial] polyline[data-series='{series}']").CountAsync());
        Assert.Equal($"{CurvesTrialRunner.BestEpoch}", await page.Locator(".best-epoch").First.GetAttributeAsync("data-epoch"));

        // Test metrics beside the baselines, the best of each column highlighted.
        var result = page.Locator("#result-metrics");
        Assert.Contains("majority", await result.InnerTextAsync());
        Assert.True(await result.Locator("td.best").CountAsync() >= 1);

        // Stored plots: the PNG and the trials' SVGs, loaded through the keyed artifacts route.
        await page.WaitForFunctionAsync(
            "() => { const imgs = [...document.querySelectorAll('#plots img')]; return imgs.length >= 3 && imgs.every(i => i.complete && i.naturalWidth > 0); }");
        Assert.Equal(1, await page.Locator("#plots img[data-artifact='evaluation/plots/confusion_matrix.png']").CountAsync());

        var data = await page.Locator("#data-summary").InnerTextAsync();
        Assert.Contains("train 210, validation 45, test 45", data);
        Assert.Contains("grid_search_params", await page.Locator("#model-config").InnerTextAsync());
        Assert.Matches(@"Duration\s+\d+(\.\d)? s", await page.Locator(".kv").First.InnerTextAsync());
        await DashboardFixture.ScreenshotAsync(page, "run");
        Assert.Empty(ui.ConsoleErrors);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Compare_sets_trials_side_by_side_marks_differences_and_plots_a_parameter_against_a_metric()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync($"/#run/{ui.CompletedRun}");
        await page.Locator("#compare-trials").ClickAsync();
        await page.WaitForURLAsync("**/#compare/**");

        var parameters = page.Locator("#compare-params");
        await parameters.WaitForAsync();
        Assert.Equal(ui.Trials.Count + 1, await parameters.Locator("thead th").CountAsync());
        Assert.Equal(1, await parameters.Locator("tr.diff[data-param='num_layers']").CountAsync());
        Assert.Contains("accuracy", await page.Locator("#compare-metrics").InnerTextAsync());
        Assert.Equal(1, await page.Locator("#compare-metrics td.best").CountAsync());
        Assert.Equal(ui.Trials.Count, await page.Locator("#scatter .point").CountAsync());
        Assert.Equal("num_layers", await page.Locator("#scatter-x").InputValueAsync());
        await DashboardFixture.ScreenshotAsync(page, "compare");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_stage_change_needs_confirmation_takes_a_reason_and_shows_in_the_stage_history()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/#models");
        var row = page.Locator($"tr[data-model='next-event/{ui.ProductionVersion}']");
        await row.WaitForAsync();
        Assert.Contains("Production", await row.Locator(".badge").First.InnerTextAsync());
        Assert.Contains("champion", await row.InnerTextAsync());
        Assert.Equal($"#run/{ui.CompletedRun}", await row.Locator("a").GetAttributeAsync("href"));
        // The run's promotion gate is the first entry of the stage history: the system, with the gate's reason.
        var history = row.Locator("details.history");
        await history.Locator("summary").ClickAsync();
        var gate = history.Locator("li[data-from='None'][data-to='Production']");
        Assert.Contains("by system", await gate.InnerTextAsync());
        Assert.Contains("promotion gate: test accuracy", await gate.InnerTextAsync());

        // Declined (Escape): nothing changes, nothing recorded.
        var dialog = page.Locator("#stage-dialog");
        await row.Locator("button[data-stage='Staging']").ClickAsync();
        Assert.Contains("from Production to Staging", await dialog.InnerTextAsync());
        Assert.Contains("no production model", await dialog.InnerTextAsync());
        await page.Keyboard.PressAsync("Escape");
        await dialog.WaitForAsync(new() { State = WaitForSelectorState.Hidden });
        Assert.Equal("Production", await StageAsync());

        // Accepted from the keyboard alone: the button focused and pressed, the reason typed (the field has the
        // focus), Enter. The registry changes, and the page says so and shows the entry with the reason.
        await row.Locator("button[data-stage='Staging']").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await dialog.WaitForAsync();
        await page.Keyboard.TypeAsync("checking the staging flow");
        await DashboardFixture.ScreenshotAsync(page, "models-stage-dialog");
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("#models-notice", new() { HasText = "is now Staging" }).WaitForAsync();
        Assert.Equal("Staging", await StageAsync());
        row = page.Locator($"tr[data-model='next-event/{ui.ProductionVersion}']");
        // The notice comes first; the models list is then read again and redrawn: wait for the redrawn history.
        await row.Locator("details.history summary", new() { HasText = "last → Staging" }).WaitForAsync();
        await row.Locator("details.history summary").ClickAsync();
        var staged = row.Locator("details.history li").First; // newest first
        Assert.Contains("Production → Staging", await staged.InnerTextAsync());
        Assert.Contains("by admin-key", await staged.InnerTextAsync());
        Assert.Contains("checking the staging flow", await staged.InnerTextAsync());
        await DashboardFixture.ScreenshotAsync(page, "models-staged");

        await row.Locator("button[data-stage='Production']").ClickAsync();
        await page.Locator("#stage-confirm").ClickAsync();
        await page.Locator("#models-notice", new() { HasText = "is now Production" }).WaitForAsync();
        Assert.Equal("Production", await StageAsync());
        row = page.Locator($"tr[data-model='next-event/{ui.ProductionVersion}']");
        await row.Locator("details.history summary", new() { HasText = "3 changes" }).WaitForAsync();
        await row.Locator("details.history summary").ClickAsync();
        await DashboardFixture.ScreenshotAsync(page, "models");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Compare_sets_runs_side_by_side_with_their_settings_and_test_metrics()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/#runs");
        await page.Locator("#runs-list").WaitForAsync();
        Assert.True(await page.Locator("#compare-runs").IsDisabledAsync()); // two runs are needed
        await page.Locator($"input[data-compare-run='{ui.CompletedRun}']").CheckAsync();
        await page.Locator($"input[data-compare-run='{ui.OtherRun}']").CheckAsync();
        await page.Locator("#compare-runs").ClickAsync();
        await page.WaitForURLAsync("**/#compare-runs/**");

        var parameters = page.Locator("#compare-params");
        await parameters.WaitForAsync();
        Assert.Equal(3, await parameters.Locator("thead th").CountAsync());
        // The settings that differ are marked: the other run's batch size and its single grid point.
        Assert.Equal(1, await parameters.Locator("tr.diff[data-param='model_training_params.batch_size']").CountAsync());
        Assert.Equal(1, await parameters.Locator("tr.diff[data-param='grid points']").CountAsync());
        Assert.Equal(1, await parameters.Locator("tr:not(.diff)[data-param='task']").CountAsync());
        var batch = await parameters.Locator("tr[data-param='model_training_params.batch_size'] td").AllInnerTextsAsync();
        Assert.Contains("128", batch);
        // Test metrics side by side, the best of the column marked: both runs scored the same, so both are.
        var metrics = page.Locator("#compare-metrics");
        Assert.Contains("accuracy", await metrics.InnerTextAsync());
        Assert.Equal(2, await metrics.Locator("tbody tr").CountAsync());
        Assert.Equal(2, await metrics.Locator("td.best").CountAsync());
        Assert.Equal(2, await page.Locator("#scatter .point").CountAsync());
        await page.SelectOptionAsync("#scatter-x", "model_training_params.batch_size");
        Assert.Contains("batch_size", await page.Locator("#scatter svg").GetAttributeAsync("aria-label"));
        Assert.Equal(1, await page.Locator("#scatter .point").CountAsync()); // the run whose config sets no batch size is left out
        await DashboardFixture.ScreenshotAsync(page, "compare-runs");

        // An unknown run in the list: the problem names it.
        await page.GotoAsync($"/#compare-runs/{ui.CompletedRun},no-such-run");
        await page.Locator("#compare-error", new() { HasText = "Run no-such-run: 404" }).WaitForAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Churn_shows_the_models_attention_with_unknown_events_marked_and_scores_an_uploaded_json()
    {
        var page = await ui.NewPageAsync(withKey: false);
        await page.GotoAsync("/?task=churn&events=page_view,mystery_event,purchase");
        var cells = page.Locator(".heatmap .cell");
        await cells.First.WaitForAsync();
        Assert.Equal(3, await cells.CountAsync());
        // The lookup model's weights: |0.8-0.5| and |0.05-0.5| of 0.75; the unknown event carries none.
        Assert.Contains("0.400", await cells.Nth(0).InnerTextAsync());
        Assert.Equal("0", await cells.Nth(1).Locator(".w").InnerTextAsync());
        Assert.Contains("0.600", await cells.Nth(2).InnerTextAsync());
        Assert.Equal(1, await cells.Nth(1).Locator(".tag", new() { HasText = "unknown" }).CountAsync());
        Assert.Equal(1, await page.Locator(".heatmap .cell.unknown").CountAsync());
        Assert.Contains("'mystery_event' (#2)", await page.Locator("#unknown-events").InnerTextAsync());
        Assert.Contains("45.0%", await page.Locator(".churn .big").InnerTextAsync()); // (0.8 + 0.5 + 0.05) / 3
        await DashboardFixture.ScreenshotAsync(page, "predict-churn");

        await page.SetInputFilesAsync("#batch-file", new FilePayload
        {
            Name = "users.json", MimeType = "application/json",
            Buffer = """{"users": [["page_view"], ["view_item", "purchase"], ["page_view", "mystery_event"]]}"""u8.ToArray(),
        });
        var rows = page.Locator("#batch-table tbody tr");
        await rows.First.WaitForAsync();
        Assert.Equal(3, await rows.CountAsync());
        Assert.Contains("churns", await rows.Nth(0).InnerTextAsync());
        Assert.Contains("returns", await rows.Nth(1).InnerTextAsync());
        Assert.EndsWith("mystery_event", (await rows.Nth(2).Locator("td").Last.InnerTextAsync()).Trim());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Errors_say_what_is_wrong_no_key_unknown_run_failed_run()
    {
        var page = await ui.NewPageAsync(withKey: false);
        await page.GotoAsync("/#runs");
        await page.Locator("#runs-error", new() { HasText = "x-api-key" }).WaitForAsync();
        Assert.StartsWith("401", await page.Locator("#runs-error").InnerTextAsync());
        await DashboardFixture.ScreenshotAsync(page, "error-no-key");

        // Typing the key in loads the view.
        await page.FillAsync("#api-key", ServerHarness.Key);
        await page.Locator("#api-key").DispatchEventAsync("change");
        await page.Locator("#runs-list").WaitForAsync();
        Assert.Equal("", await page.Locator("#runs-error").InnerTextAsync());

        await page.GotoAsync("/#run/no-such-run");
        await page.Locator("#run-error", new() { HasText = "No training run 'no-such-run'" }).WaitForAsync();
        await DashboardFixture.ScreenshotAsync(page, "error-unknown-run");

        await page.GotoAsync($"/#run/{ui.FailedRun}");
        var failure = page.Locator("#run-failure");
        await failure.WaitForAsync();
        Assert.Contains("All 1 trials failed", await failure.InnerTextAsync()); // the run's own error, as recorded
        Assert.Contains("failed", await page.Locator("#run-detail .badge").First.InnerTextAsync());
        await DashboardFixture.ScreenshotAsync(page, "error-failed-run");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Runs_list_pages_fifteen_runs_at_a_time()
    {
        // 14 older runs beside the fixture's 3, written to the real runs table and removed afterwards, so the other
        // tests (which count the fixture's runs) never see them: the tests of this collection run one at a time.
        var runsTable = new Azure.Data.Tables.TableClient(ui.Server.Config.Storage.ConnectionString,
            ui.Server.Config.Storage.NamePrefix + "runs");
        var store = ui.Server.Server.Services.GetRequiredService<RunStore>();
        var old = Enumerable.Range(0, 14).Select(i => new RunRecord
        {
            RunId = $"paging-{i:D2}", Status = RunStatus.Completed, Source = "synthetic:300", Task = "events",
            ModelName = "next-event", CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(i),
        }).ToList();
        foreach (var run in old) await store.UpsertRunAsync(run);
        try
        {
            var page = await ui.NewPageAsync();
            await page.GotoAsync("/#runs");
            var rows = page.Locator("#runs-list tbody tr");
            var pager = page.Locator("#runs-table .pager");
            await pager.GetByText("page 1 of 2 · 17 runs").WaitForAsync();
            Assert.Equal(15, await rows.CountAsync());
            Assert.Equal(ui.FailedRun, await rows.First.GetAttributeAsync("data-run")); // newest first
            var previous = pager.GetByRole(AriaRole.Button, new() { Name = "Previous" });
            var next = pager.GetByRole(AriaRole.Button, new() { Name = "Next" });
            Assert.True(await previous.IsDisabledAsync());

            await next.ClickAsync();
            await pager.GetByText("page 2 of 2").WaitForAsync();
            Assert.Equal(["paging-01", "paging-00"], await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.run)"));
            Assert.True(await next.IsDisabledAsync());
            await DashboardFixture.ScreenshotAsync(page, "runs-page-2");

            // A filter starts again at page 1: 16 completed runs are two pages, the failed run alone is one.
            await page.SelectOptionAsync("#filter-status", "failed");
            await pager.GetByText("page 1 of 1 · 1 run").WaitForAsync();
            Assert.Equal(ui.FailedRun, await rows.First.GetAttributeAsync("data-run"));
            await page.Context.CloseAsync();
        }
        finally
        {
            foreach (var run in old) await runsTable.DeleteEntityAsync("run", run.RunId);
        }
    }

    [Theory]
    [InlineData("predict", "/?events=session_start,page_view,view_item,add_to_cart,begin_checkout,mystery_event", ".heatmap")]
    [InlineData("models", "/#models", "tr[data-model]")]
    [InlineData("runs", "/#runs", "#runs-list")]
    [InlineData("run", "/#run/{run}", "svg[data-trial]")]
    [InlineData("compare", "/#compare/{run}", "#scatter svg")]
    [InlineData("compare-runs", "/#compare-runs/{run},{other}", "#scatter svg")]
    public async Task At_360_px_wide_no_view_overflows_sideways(string view, string url, string ready)
    {
        var page = await ui.NewPageAsync(width: 360, height: 740);
        await page.GotoAsync(url.Replace("{run}", ui.CompletedRun).Replace("{other}", ui.OtherRun));
        await page.Locator(ready).First.WaitForAsync();
        var overflow = await page.EvaluateAsync<JsonElement>(
            "() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth })");
        Assert.True(overflow.GetProperty("scroll").GetInt32() <= overflow.GetProperty("width").GetInt32(),
            $"{view}: the page is {overflow.GetProperty("scroll")} px wide in a {overflow.GetProperty("width")} px viewport");
        // List tables are stacked, one block per row, rather than scrolling sideways inside their card.
        var stacked = await page.EvaluateAsync<JsonElement>(
            "() => [...document.querySelectorAll('table.stack')].map(t => ({ id: t.id, scroll: t.parentElement.scrollWidth, width: t.parentElement.clientWidth, " +
            "label: getComputedStyle(t.tBodies[0].rows[0].cells[1], '::before').content }))");
        if (view is "models" or "runs" or "run")
            Assert.True(stacked.GetArrayLength() >= 1, $"{view}: no stacked list table");
        foreach (var table in stacked.EnumerateArray())
        {
            Assert.True(table.GetProperty("scroll").GetInt32() <= table.GetProperty("width").GetInt32(),
                $"{view}: #{table.GetProperty("id")} scrolls sideways ({table.GetProperty("scroll")} px in {table.GetProperty("width")} px)");
            Assert.NotEqual("none", table.GetProperty("label").GetString()); // each value shows its column's name
        }
        // The header's key field and the predict button stay inside the viewport.
        foreach (var selector in new[] { "#api-key", "#predict-button" })
        {
            var box = await page.Locator(selector).BoundingBoxAsync();
            if (box is null) continue; // not on this view
            Assert.True(box.X >= 0 && box.X + box.Width <= 360, $"{view}: {selector} spills out ({box.X} + {box.Width})");
        }
        await DashboardFixture.ScreenshotAsync(page, "narrow-" + view);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Every_control_of_the_runs_and_models_views_is_reachable_with_the_tab_key()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/#runs");
        await page.Locator("#runs-list").WaitForAsync();
        var stops = await TabStopsAsync(page);
        foreach (var expected in new[] { "a[predict]", "a[models]", "a[runs]", "input#api-key", "select#filter-task", "select#filter-model",
                                         "select#filter-status", "button#runs-refresh", $"input[{ui.CompletedRun}]", "button[created_at]",
                                         $"a[#run/{ui.CompletedRun}]" })
            Assert.Contains(expected, stops);
        // With two runs ticked (Space on a focused checkbox), the compare button joins the tab order.
        await page.Locator($"input[data-compare-run='{ui.CompletedRun}']").FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await page.Locator($"input[data-compare-run='{ui.OtherRun}']").FocusAsync();
        await page.Keyboard.PressAsync("Space");
        Assert.Contains("button#compare-runs", await TabStopsAsync(page));

        await page.GotoAsync("/#models");
        await page.Locator("tr[data-model]").First.WaitForAsync();
        stops = await TabStopsAsync(page);
        Assert.Contains("button#models-refresh", stops);
        Assert.Contains("summary[]", stops); // the stage history opens from the keyboard
        Assert.Contains("button[Staging]", stops);
        await page.Context.CloseAsync();
    }

    /// <summary>What the Tab key visits in one round of the page, as <c>tag#id</c> or <c>tag[what identifies it]</c>.</summary>
    private static async Task<List<string>> TabStopsAsync(IPage page, int max = 80)
    {
        var stops = new List<string>();
        var leftPage = false;
        for (var i = 0; i < max; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            var stop = await page.EvaluateAsync<string>("""
                () => { const e = document.activeElement; if (!e || e === document.body) return "";
                  const tag = e.tagName.toLowerCase();
                  if (e.id) return `${tag}#${e.id}`;
                  const what = e.dataset.panel || e.dataset.compareRun || e.dataset.trial || e.dataset.sort || e.dataset.stage || e.getAttribute("href") || "";
                  return `${tag}[${what}]`; }
                """);
            // Past the last control focus leaves the page once, then comes back at the top: one whole round is taken.
            if (stop == "") { if (leftPage) break; leftPage = true; continue; }
            if (stops.Count > 0 && stop == stops[0]) break;
            stops.Add(stop);
        }
        return stops;
    }

    private async Task<string?> StageAsync()
    {
        using var response = await ui.Server.Http.SendAsync(ServerHarness.Get("api/models"));
        var models = await response.Content.ReadFromJsonAsync<JsonElement>();
        return models.GetProperty("models").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == "next-event" && m.GetProperty("version").GetInt32() == ui.ProductionVersion)
            .GetProperty("stage").GetString();
    }
}
