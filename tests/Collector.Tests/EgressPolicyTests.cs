using Observe.Common;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>The one egress policy every sink, notifier and the IRC client share (issue 19).</summary>
public class EgressPolicyTests
{
    [Theory]
    [InlineData(200, EgressOutcome.Delivered)]
    [InlineData(204, EgressOutcome.Delivered)]
    [InlineData(400, EgressOutcome.Reject)]
    [InlineData(401, EgressOutcome.Retry)]
    [InlineData(403, EgressOutcome.Retry)]
    [InlineData(404, EgressOutcome.Retry)]
    [InlineData(408, EgressOutcome.Retry)]
    [InlineData(409, EgressOutcome.Reject)]
    [InlineData(413, EgressOutcome.Reject)]
    [InlineData(422, EgressOutcome.Reject)]
    [InlineData(429, EgressOutcome.Retry)]
    [InlineData(500, EgressOutcome.Retry)]
    [InlineData(503, EgressOutcome.Retry)]
    public void Http_statuses_are_classified_once(int status, EgressOutcome expected) =>
        Assert.Equal(expected, EgressPolicy.Classify(status));

    [Fact]
    public void Exceptions_retry_unless_the_sender_says_the_payload_is_refused()
    {
        Assert.Equal(EgressOutcome.Retry, EgressPolicy.Classify(new HttpRequestException("refused")));
        Assert.Equal(EgressOutcome.Retry, EgressPolicy.Classify(new System.Net.Sockets.SocketException()));
        Assert.Equal(EgressOutcome.Retry, EgressPolicy.Classify(new TaskCanceledException("timeout")));
        Assert.Equal(EgressOutcome.Reject, EgressPolicy.Classify(new EgressRejectedException("400")));
        Assert.Equal(EgressOutcome.Reject, EgressPolicy.Classify(new AggregateException(new EgressRejectedException("400"))));
    }

    [Fact]
    public void Backoff_doubles_to_the_cap_with_equal_jitter_and_resets()
    {
        var b = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
        Assert.InRange(b.Next().TotalMilliseconds, 50, 100);
        Assert.InRange(b.Next().TotalMilliseconds, 100, 200);
        Assert.InRange(b.Next().TotalMilliseconds, 200, 400);
        Assert.InRange(b.Next().TotalMilliseconds, 400, 800);
        for (var i = 0; i < 40; i++) b.Next();
        var capped = Enumerable.Range(0, 50).Select(_ => b.Next().TotalMilliseconds).ToArray();
        Assert.All(capped, ms => Assert.InRange(ms, 2500, 5000));
        Assert.True(capped.Distinct().Count() > 10, "jittered");
        b.Reset();
        Assert.Equal(0, b.Failures);
        Assert.InRange(b.Next().TotalMilliseconds, 50, 100);
    }

    [Fact]
    public async Task Backoff_waits_on_the_given_clock()
    {
        var clock = new ManualTimeProvider();
        var b = new Backoff(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1), clock, new Random(7));
        var wait = b.WaitAsync(CancellationToken.None);
        await Poll.UntilAsync(() => clock.PendingTimers > 0, TimeSpan.FromSeconds(10), "the backoff's timer");
        clock.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.False(wait.IsCompleted, "not before half the ceiling");
        clock.Advance(TimeSpan.FromSeconds(5));
        var waited = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(waited, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        Assert.Equal(1, b.Failures);
    }
}
