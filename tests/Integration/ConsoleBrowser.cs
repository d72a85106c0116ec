using Microsoft.Playwright;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Debian's chromium driven by Playwright (no browser download) against a real `observe run`; collects every console
/// error and uncaught page error so a test can assert there were none.
/// </summary>
internal sealed class ConsoleBrowser : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    public IBrowserContext Context { get; }
    public IPage Page { get; }
    public List<string> Errors { get; } = [];

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page)
    {
        (_playwright, _browser, Context, Page) = (playwright, browser, context, page);
        page.Console += (_, m) => { if (m.Type == "error") lock (Errors) Errors.Add("console: " + m.Text); };
        page.PageError += (_, e) => { lock (Errors) Errors.Add("page: " + e); };
        page.Response += (_, r) => { if (r.Status >= 400) lock (Errors) Errors.Add($"http: {r.Status} {r.Request.Method} {r.Url}"); };
    }

    /// <summary>Over https:// the tests' self-signed certificate is accepted (as a user who trusted it would).</summary>
    public static async Task<ConsoleBrowser> OpenAsync(string baseUrl, int width = 1280, int height = 900)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} missing: run tests/peers/install.sh");
        var pw = await Playwright.CreateAsync();
        var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var context = await browser.NewContextAsync(new()
        {
            BaseURL = baseUrl, ViewportSize = new() { Width = width, Height = height },
            IgnoreHTTPSErrors = baseUrl.StartsWith("https:", StringComparison.Ordinal),
        });
        var page = await context.NewPageAsync();
        return new ConsoleBrowser(pw, browser, context, page);
    }

    /// <summary>Asserts the page logged no error, threw nothing and got no 4xx/5xx answer.</summary>
    public void AssertNoErrors()
    {
        lock (Errors) Assert.True(Errors.Count == 0, string.Join("\n", Errors));
    }

    /// <summary>A screenshot into docs/console/ (so docs/console.md shows what the test saw).</summary>
    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new() { Path = Path.Combine(Repo.Root, "docs", "console", name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
