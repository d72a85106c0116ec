using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting.Notifiers;
using Observe.Alerting.Pipeline;
using Observe.TestSupport;

namespace Observe.Alerting.Tests;

public class NotifierTests
{
    private const string Hostile = "web1\r\nQUIT :pwned\r\nBcc: victim@example.com\0\nPRIVMSG #ops :injected";

    private static Notification One(string summary, NotificationKind kind = NotificationKind.Firing, string host = "web1") =>
        new("ops", "0:{host=\"web1\"}", new Dictionary<string, string> { ["host"] = host }, kind,
            [new AlertSnapshot("check/web1/http", "checks", kind == NotificationKind.Resolved ? "resolved" : "firing", "critical", summary, "details\r\nline2",
                new Dictionary<string, string> { ["host"] = host, ["check"] = "http" }, DateTimeOffset.UnixEpoch, null)],
            DateTimeOffset.UnixEpoch);

    [Fact]
    public void One_line_removes_every_control_character()
    {
        var s = NotificationText.OneLine(Hostile + "\u2028x\x01ACTION\x01");
        Assert.DoesNotContain('\r', s); Assert.DoesNotContain('\n', s); Assert.DoesNotContain('\0', s); Assert.DoesNotContain('\x01', s);
        Assert.DoesNotContain('\u2028', s);
    }

    [Fact]
    public void Templates_fill_placeholders_with_sanitised_values()
    {
        var n = One(Hostile, host: Hostile);
        var line = NotificationText.Render("[{status}{countSuffix}] {labels.host} {group}: {summary}", n);
        Assert.StartsWith("[FIRING] web1  QUIT", line);
        Assert.DoesNotContain('\n', line);
        Assert.Equal(["nope"], NotificationText.UnknownPlaceholders("{status} {nope} {labels.x}"));
        var two = n with { Alerts = [.. n.Alerts, n.Alerts[0] with { Key = "k2", Summary = "second" }] };
        Assert.StartsWith("[FIRING:2] ", NotificationText.Render(new TemplateOptions().IrcLine, two));
    }

    [Fact]
    public void Irc_text_is_split_within_the_line_limit_without_breaking_utf8()
    {
        var text = string.Concat(Enumerable.Repeat("ünïcödé wörds 🚨 ", 100));
        var parts = IrcClient.Split(text, IrcClient.MaxTextBytes).ToList();
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.True(Encoding.UTF8.GetByteCount(p) <= IrcClient.MaxTextBytes));
        Assert.All(parts, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal(text.Replace(" ", ""), string.Concat(parts).Replace(" ", ""));
        // "NOTICE #channel :" + text + CRLF, plus a relayed ":nick!user@host " prefix of up to ~100 bytes, stays under 512.
        Assert.True(Encoding.UTF8.GetByteCount("NOTICE #a-long-channel-name :") + IrcClient.MaxTextBytes + 2 + 100 <= 512 + 20);
    }

    [Fact]
    public void Irc_messages_are_parsed()
    {
        var (prefix, cmd, args) = IrcClient.Parse(":irc.test PONG irc.test :observe7");
        Assert.Equal("irc.test", prefix); Assert.Equal("PONG", cmd); Assert.Equal(["irc.test", "observe7"], args);
        Assert.Equal("PING", IrcClient.Parse("PING :x").Command);
    }

    [Fact]
    public void Irc_lines_carry_the_status_colour_only_when_asked()
    {
        var n = One("web1/http is CRITICAL");
        var plain = new IrcNotifier(null!, new() { Channel = "#ops" }, new IrcOptions(), new TemplateOptions()).Line(n);
        Assert.Equal("[FIRING] web1/http is CRITICAL", plain);
        var coloured = new IrcNotifier(null!, new() { Channel = "#ops" }, new IrcOptions { Colors = true }, new TemplateOptions()).Line(n);
        Assert.Equal("[\x02\x03" + "04FIRING\x0F] web1/http is CRITICAL", coloured);
    }

    [Fact]
    public async Task A_mail_has_text_and_html_and_no_header_can_be_injected()
    {
        var notifier = new EmailNotifier(new SmtpOptions { Host = "x", From = "observe@example.com" }, new() { To = ["ops@example.com"] }, new TemplateOptions());
        var n = One(Hostile, host: Hostile);
        var m = notifier.Build(n);
        using var ms = new MemoryStream();
        await m.WriteToAsync(ms);
        var raw = Encoding.UTF8.GetString(ms.ToArray()).Replace("\r\n", "\n");
        var headerBlock = raw[..raw.IndexOf("\n\n", StringComparison.Ordinal)];
        Assert.DoesNotContain("\nBcc:", headerBlock, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\nBcc:", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\nQUIT", raw);
        Assert.Contains("text/plain", raw);
        Assert.Contains("text/html", raw);
        Assert.Single(m.To.Mailboxes);
        Assert.Empty(m.Bcc);
    }

    [Fact]
    public void Pagerduty_dedup_keys_are_stable_per_group()
    {
        Assert.Equal(PagerDutyNotifier.DedupKey("0:{host=\"web1\"}"), PagerDutyNotifier.DedupKey("0:{host=\"web1\"}"));
        Assert.NotEqual(PagerDutyNotifier.DedupKey("0:{host=\"web1\"}"), PagerDutyNotifier.DedupKey("0:{host=\"web2\"}"));
        Assert.Equal(64, PagerDutyNotifier.DedupKey("x").Length);
    }

    private sealed class FlakyNotifier(int failures, bool permanent = false) : INotifier
    {
        public int Attempts;
        public string Kind => "flaky";
        public Task SendAsync(Notification n, CancellationToken ct)
        {
            if (++Attempts <= failures) throw permanent ? new Observe.Common.EgressRejectedException("400 bad request") : new HttpRequestException("503");
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Delivery_retries_with_backoff_and_counts_sent_and_failed()
    {
        var clock = new ManualTimeProvider();
        var flaky = new FlakyNotifier(2);
        var broken = new FlakyNotifier(100, permanent: true);
        var history = new AlertHistory(100);
        await using var d = new NotificationDelivery(new Dictionary<string, IReadOnlyList<INotifier>> { ["a"] = [flaky], ["b"] = [broken] },
            new DeliveryOptions { InitialBackoff = "1s", MaxBackoff = "10s", MaxAttempts = 5 }, history, clock, NullLogger.Instance);
        d.Enqueue(One("x") with { Receiver = "a" });
        d.Enqueue(One("x") with { Receiver = "b" });
        d.Enqueue(One("x") with { Receiver = "nobody" });
        await Poll.UntilAsync(() => flaky.Attempts == 1 && broken.Attempts == 1, TimeSpan.FromSeconds(10), "first attempts");
        await Poll.UntilAsync(() => d.Stats().Single(s => s.Receiver == "b").Failed == 1, TimeSpan.FromSeconds(10), "permanent failure recorded");
        Assert.Equal(1, broken.Attempts); // not retried
        // The shared backoff's equal jitter: the first retry comes between 0.5 s and 1 s.
        await Poll.UntilAsync(() => clock.PendingTimers > 0, TimeSpan.FromSeconds(10), "the retry's timer");
        clock.Advance(TimeSpan.FromMilliseconds(499));
        await Task.Yield();
        Assert.Equal(1, flaky.Attempts);
        clock.Advance(TimeSpan.FromMilliseconds(501));
        await Poll.UntilAsync(() => flaky.Attempts == 2, TimeSpan.FromSeconds(10), "second attempt within 1 s");
        await Poll.UntilAsync(() => { clock.Advance(TimeSpan.FromMilliseconds(100)); return flaky.Attempts == 3; }, TimeSpan.FromSeconds(10), "third attempt after 2 s more");
        await Poll.UntilAsync(() => d.Stats().Single(s => s.Receiver == "a").Sent == 1, TimeSpan.FromSeconds(10), "sent");
        Assert.Equal(0, d.Stats().Single(s => s.Receiver == "a").Failed);
        Assert.Equal(1, d.UnknownReceiver);
        Assert.Contains(history.Query(null, "notify_failed", 10), e => e.Receiver == "b" && e.Text.Contains("400"));
    }

    private sealed class LevelRecorder : Microsoft.Extensions.Logging.ILogger
    {
        public readonly System.Collections.Concurrent.ConcurrentQueue<(Microsoft.Extensions.Logging.LogLevel Level, string Text)> Lines = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
    }

    /// <summary>Issue 15 finding 4: a failing notification was logged at INF until the last retry; now every failed attempt is a
    /// warning and counted.</summary>
    [Fact]
    public async Task A_failed_delivery_attempt_is_a_warning_and_counted()
    {
        var clock = new ManualTimeProvider();
        var flaky = new FlakyNotifier(1);
        var log = new LevelRecorder();
        await using var d = new NotificationDelivery(new Dictionary<string, IReadOnlyList<INotifier>> { ["warn-test"] = [flaky] },
            new DeliveryOptions { InitialBackoff = "1s", MaxBackoff = "10s", MaxAttempts = 5 }, new AlertHistory(100), clock, log);
        d.Enqueue(One("x") with { Receiver = "warn-test" });
        await Poll.UntilAsync(() => log.Lines.Any(), TimeSpan.FromSeconds(10), "the first failure logged");
        var (level, text) = log.Lines.First();
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, level);
        Assert.Contains("failed (attempt 1)", text);
        Assert.Equal(1, d.Stats().Single().AttemptsFailed);   // observe_alerting_notification_attempts_failed_total (AlertingStatList)
        await Poll.UntilAsync(() => { clock.Advance(TimeSpan.FromMilliseconds(100)); return d.Stats().Single().Sent == 1; }, TimeSpan.FromSeconds(10), "sent on the retry");
    }

    /// <summary>Issue 19: webhooks and PagerDuty gave up on 401/403/404 while the sinks retried them; they now answer a status as
    /// the shared EgressPolicy does (retry throws, reject throws EgressRejectedException).</summary>
    [Theory]
    [InlineData(202)]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(408)]
    [InlineData(413)]
    [InlineData(429)]
    [InlineData(500)]
    public async Task Http_notifiers_classify_a_status_as_the_egress_policy_does(int status)
    {
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)status) { Content = new StringContent("why") };
        Observe.Common.EgressOutcome outcome;
        try
        {
            await HttpOutcome.EnsureDeliveredAsync(response, "webhook", default);
            outcome = Observe.Common.EgressOutcome.Delivered;
        }
        catch (Exception e) { outcome = Observe.Common.EgressPolicy.Classify(e); }
        Assert.Equal(Observe.Common.EgressPolicy.Classify(status), outcome);
    }
}
