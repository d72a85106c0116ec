using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Observe.TestSupport;

namespace Observe.DeployMarkers.Tests;

/// <summary>
/// Issue 15: malformed deploy markers (bad JSON or invalid fields) are each counted, but logged at most once per 10 s
/// with how many were left out (the auth log's throttle): a client in a loop must not flood the log.
/// </summary>
public class RejectLogTests
{
    private sealed class LineLog : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
    }

    [Fact]
    public async Task Hundred_malformed_markers_are_counted_each_and_logged_once_per_10_s()
    {
        var log = new LineLog();
        using var h = new Harness(new DeploysOptions { Services = [new DeployServiceOptions { Name = "shop" }] }) { Log = log };
        h.Build();
        for (int i = 0; i < 50; i++) h.Service.CountRejected("not JSON");
        for (int i = 0; i < 50; i++) Assert.Equal(400, (await h.Mark("start", "shop", "staging", "bad version " + i)).Status);
        Assert.Equal(100, h.Service.Rejected);
        await Poll.UntilAsync(() => h.Metrics.Points.Count(p => p.Path.EndsWith(".rejected", StringComparison.Ordinal)) == 100, TimeSpan.FromSeconds(10), "100 points of <prefix>.rejected");
        Assert.Single(log.Lines, l => l.Level == LogLevel.Warning);

        h.Clock.Advance(TimeSpan.FromSeconds(10));
        h.Service.CountRejected("not JSON");
        var warnings = log.Lines.Where(l => l.Level == LogLevel.Warning).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains("99 more", warnings[1].Text);
    }
}
