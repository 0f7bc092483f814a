using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Tests;
using CustomerAnalysis.Pipeline.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CustomerAnalysis.Ui.Tests;

/// <summary>
/// Once for all browser tests: the local server (<c>ca serve</c>'s host) on Azurite with the lookup-table model, one
/// completed run (two trials with six recorded epochs each, a stored PNG and SVG plot, promoted to production), a
/// second completed run with other settings (to compare runs), one failed run (its only trial fails), a lookup churn
/// model in production, and Debian's chromium driven by Playwright's driver from the NuGet package.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    private readonly AzuriteFixture _azurite = new();
    private IPlaywright? _playwright;

    public ServerHarness Server { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string CompletedRun { get; private set; } = "";
    public string FailedRun { get; private set; } = "";
    public string OtherRun { get; private set; } = "";

    /// <summary>The served churn model's rates: a purchase says the user returns, a lone page view that they churn.</summary>
    public static readonly LookupChurnCheckpoint ChurnModel = new(new()
    {
        ["session_start"] = 0.5, ["page_view"] = 0.8, ["view_item"] = 0.4, ["add_to_cart"] = 0.3, ["purchase"] = 0.05,
    });
    public IReadOnlyList<string> Trials { get; private set; } = [];
    public int ProductionVersion { get; private set; }

    public static string ScreenshotDirectory { get; } =
        Path.Combine(AzuriteFixture.RepoRoot, "tests", "CustomerAnalysis.Ui.Tests", "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"The browser tests drive Debian's chromium at {ChromiumPath}: run scripts/setup.sh (apt-get install chromium).");
        Directory.CreateDirectory(ScreenshotDirectory);

        Server = await ServerHarness.StartAsync(_azurite, new CurvesTrialRunner());
        var completed = await Server.TrainAsync("""{"source": "synthetic:300", "task": "events"}""");
        CompletedRun = completed.GetProperty("run").GetProperty("run_id").GetString()!;
        Trials = completed.GetProperty("trials").EnumerateArray().Select(t => t.GetProperty("trial_id").GetString()!).ToList();
        ProductionVersion = completed.GetProperty("result").GetProperty("model_version").GetInt32();
        // Other settings (a bigger batch, one grid point): the same data, so it scores the same and stays unpromoted.
        var other = await Server.TrainAsync("""{"source": "synthetic:300", "task": "events", "overrides": {"grid": {"num_layers": [2]},"""
            + """ "config": {"model_training_params": {"batch_size": 128}}}}""");
        OtherRun = other.GetProperty("run").GetProperty("run_id").GetString()!;
        await Server.ServeChurnLookupAsync(ChurnModel);
        // A run that fails: its only trial fails (a source that can never work is refused at submit now).
        var failed = await Server.TrainAsync("""{"source": "synthetic:300", "task": "events", "overrides": {"grid": {"learning_rate": ["""
            + LookupTrialRunner.FailingLearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]}}}");
        FailedRun = failed.GetProperty("run").GetProperty("run_id").GetString()!;

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs,
        });

        // A stored PNG like the evaluation's plots (drawn by the browser itself: a real image, no binary in the repo).
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 240, Height = 160 } });
        await page.SetContentAsync("""
            <body style="margin:0"><svg width="240" height="160"><rect width="240" height="160" fill="#eef4ff"/>
            <rect x="20" y="20" width="90" height="55" fill="#2f6fde"/><rect x="130" y="20" width="90" height="55" fill="#a9c2f0"/>
            <rect x="20" y="85" width="90" height="55" fill="#d5e2f8"/><rect x="130" y="85" width="90" height="55" fill="#2f6fde"/></svg></body>
            """);
        var png = await page.ScreenshotAsync();
        await page.CloseAsync();
        var artifacts = Server.Server.Services.GetRequiredService<ArtifactStore>();
        await artifacts.UploadAsync(ArtifactNames.EvaluationFolder(CompletedRun) + "plots/confusion_matrix.png", new MemoryStream(png));
    }

    /// <summary>A fresh page (its own context: own sessionStorage), with the API key typed in unless
    /// <paramref name="withKey"/> is false.</summary>
    public async Task<IPage> NewPageAsync(bool withKey = true, int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height }, BaseURL = Server.Http.BaseAddress!.ToString(),
        });
        context.SetDefaultTimeout(10_000);
        if (withKey)
            await context.AddInitScriptAsync($"sessionStorage.setItem('customeranalysis.apiKey', '{ServerHarness.Key}')");
        var page = await context.NewPageAsync();
        // Anything the page logs as an error fails the test that asserts on it (CSP violations, script errors).
        page.Console += (_, message) => { if (message.Type == "error") ConsoleErrors.Add(message.Text); };
        page.PageError += (_, error) => ConsoleErrors.Add(error);
        return page;
    }

    public List<string> ConsoleErrors { get; } = [];

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser != null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (Server != null) await Server.DisposeAsync();
    }
}

/// <summary>The lookup-table trial with a training history: six epochs whose losses fall and whose validation
/// accuracy peaks at epoch 4 (the last two overfit), ending at the trial's real validation accuracy.</summary>
public sealed class CurvesTrialRunner : ITrialRunner
{
    public const int BestEpoch = 4;
    private readonly LookupTrialRunner _inner = new();

    public async Task<TrialResult> RunAsync(TrialRequest request, CancellationToken cancellationToken)
    {
        var result = await _inner.RunAsync(request, cancellationToken);
        var accuracy = result.ValidationMetrics["accuracy"];
        var epochs = Enumerable.Range(1, 6).Select(epoch =>
        {
            var overfit = Math.Max(0, epoch - BestEpoch);
            return new EpochMetrics(epoch, new Dictionary<string, double>
            {
                ["train_loss"] = 1.6 * Math.Exp(-0.35 * epoch) + 0.2,
                ["val_loss"] = 1.7 * Math.Exp(-0.3 * Math.Min(epoch, BestEpoch)) + 0.25 + 0.08 * overfit,
                ["val_accuracy"] = accuracy - 0.04 * Math.Abs(BestEpoch - epoch),
                ["seconds"] = 0.1,
            });
        }).ToList();
        return result with { Epochs = epochs };
    }
}
