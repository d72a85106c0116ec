using System.Net.Http.Json;
using System.Text.Json;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// The console's accessibility (issue 22): axe-core (WCAG 2 A/AA rules, contrast and labels among them) finds no
/// serious or critical violation on any page, and an acknowledgement can be made with the keyboard alone.
/// </summary>
public partial class ConsoleTests
{
    private static readonly string[] AxeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

    private static async Task<List<string>> SeriousViolations(IPage page)
    {
        var result = await page.RunAxe(new AxeRunOptions { RunOnly = new RunOnlyOptions { Type = "tag", Values = [.. AxeTags] } });
        return result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target.ToString()))}").ToList();
    }

    [Fact]
    public async Task Every_page_passes_axe_core_and_an_acknowledgement_can_be_made_with_the_keyboard_alone()
    {
        await using var run = await StartAsync("console-a11y");
        await Poll.UntilAsync(async () => (await Check(run.Client, "shop-port")) is var c
            && c.GetProperty("state").GetString() == "critical" && c.GetProperty("stateType").GetString() == "hard", TimeSpan.FromSeconds(20), "shop-port HARD CRITICAL");
        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        var page = browser.Page;
        var found = new List<string>();
        foreach (var (path, ready) in new[]
        {
            ("/#/", "table[data-group=unhandled] tr[data-key='web1/shop-port']"),
            ("/#/checks", "table.grid tr[data-key='web1/shop-port']"),
            ("/#/check/web1/shop-port", "#ack-form"),
            ("/#/alerts", "#h-silences"),
            ("/#/deploys", "#h-locks"),
            ("/#/metrics", "#m-complete"),
            ("/#/logs", "#l-level"),
            ("/status", "li.component .bars"),
        })
        {
            await page.GotoAsync(path);
            await page.Locator(ready).First.WaitForAsync(new() { State = WaitForSelectorState.Attached });
            found.AddRange((await SeriousViolations(page)).Select(v => $"{path}: {v}"));
        }
        Assert.True(found.Count == 0, string.Join("\n", found));
        // The check can fail: an unlabelled input and grey-on-white text are found.
        await page.EvaluateAsync("() => document.querySelector('main').append(Object.assign(document.createElement('input'), {type: 'text'}), Object.assign(document.createElement('p'), {textContent: 'faint', style: 'color:#ccc'}))");
        var planted = await SeriousViolations(page);
        Assert.Contains(planted, v => v.StartsWith("label ", StringComparison.Ordinal));
        Assert.Contains(planted, v => v.StartsWith("color-contrast ", StringComparison.Ordinal));

        // Keyboard only: Tab to the comment field, type, Tab to "Acknowledge", Enter.
        await page.GotoAsync("/#/check/web1/shop-port");
        await page.Locator("#ack-form").WaitForAsync();
        async Task TabTo(string what, Func<Task<bool>> reached)
        {
            for (var i = 0; i < 80 && !await reached(); i++) await page.Keyboard.PressAsync("Tab");
            Assert.True(await reached(), $"{what} is not reachable with Tab");
        }
        await TabTo("the comment field", () => page.EvaluateAsync<bool>("() => document.activeElement?.labels?.[0]?.textContent.includes('Comment') === true"));
        await page.Keyboard.TypeAsync("on it, by keyboard");
        await TabTo("the Acknowledge button", () => page.EvaluateAsync<bool>("() => document.activeElement?.tagName === 'BUTTON' && document.activeElement.textContent.trim() === 'Acknowledge'"));
        // A visible focus indicator on the focused button.
        Assert.NotEqual("none", await page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle"));
        await page.Keyboard.PressAsync("Enter");
        await Poll.UntilAsync(async () => (await Check(run.Client, "shop-port")).TryGetProperty("acknowledgement", out var a)
            && a.GetProperty("comment").GetString() == "on it, by keyboard", TimeSpan.FromSeconds(10), "the keyboard ack in /api/checks");
        browser.AssertNoErrors();
    }
}
