using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector.Pipeline;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Hostile input over the real UDP listener: it is counted as bad and never stops the listener.</summary>
public class StatsdFuzzTests
{
    private const string Alphabet = ":|@#,.\n-+0123456789abcgms_e{}";

    [Fact]
    public async Task Garbage_is_counted_and_a_valid_metric_still_flushes_correctly()
    {
        await using var carbon = new GraphiteLineRecorder();
        var app = await ObserveApp.StartAsync(c =>
        {
            c.Sinks.Carbon = [new() { Port = carbon.Port }];
            c.Sinks.Embedded.Enabled = false;
            c.Collector.Statsd.FlushInterval = 3_600_000;
        });
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(app.StatsdEndpoint);

        // Named hostile cases first: each is exactly one bad line.
        var named = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("nan.gauge:NaN|g"),
            Encoding.UTF8.GetBytes("unknown.type:1|zz"),
            Encoding.UTF8.GetBytes("no.type:1"),
            Encoding.UTF8.GetBytes("bad.rate:1|c|@x"),
            Encoding.UTF8.GetBytes("neg.timer:-1|ms"),
            new byte[] { 0x6b, 0xff, 0xfe, 0x3a, 0x31, 0x7c, 0x63 }, // invalid UTF-8 in the key
            Encoding.UTF8.GetBytes("big:" + new string('9', 65_000) + "x|c"), // a ~64 KiB line
        };
        foreach (var p in named) udp.Send(p);
        await Poll.UntilAsync(() => app.Stats.Statsd.PacketsReceived == named.Count, TimeSpan.FromSeconds(10), "named packets");
        Assert.Equal(named.Count, app.Stats.Statsd.BadLinesSeen);

        // Then 100 000 random packets: random bytes, random printable junk, and mutated valid lines.
        var rng = new Random(20261123);
        const int Random = 100_000;
        var buffer = new byte[1500];
        for (var i = 0; i < Random; i++)
        {
            var len = rng.Next(1, buffer.Length);
            switch (i % 3)
            {
                case 0: rng.NextBytes(buffer.AsSpan(0, len)); break;
                case 1: for (var j = 0; j < len; j++) buffer[j] = (byte)Alphabet[rng.Next(Alphabet.Length)]; break;
                default:
                    var line = Encoding.UTF8.GetBytes($"fuzz.k{rng.Next(50)}:{rng.Next(-5, 5)}|{"c ms g s h d x"[rng.Next(7) * 2]}|@{rng.NextDouble():0.##}\n");
                    len = Math.Min(line.Length, buffer.Length);
                    line.AsSpan(0, len).CopyTo(buffer);
                    buffer[rng.Next(len)] = (byte)rng.Next(256);
                    break;
            }
            udp.Send(buffer.AsSpan(0, len));
            // Bounded pacing so the test measures robustness, not the kernel buffer: wait when far ahead.
            if (i % 2000 == 1999)
            {
                var sent = named.Count + i + 1;
                await Poll.UntilAsync(() => app.Stats.Statsd.PacketsReceived + app.Stats.Statsd.KernelUdpDrops >= sent - 1000,
                    TimeSpan.FromSeconds(30), "listener keeps up");
            }
        }
        var total = named.Count + Random;
        await Poll.UntilAsync(() => app.Stats.Statsd.PacketsReceived + app.Stats.Statsd.KernelUdpDrops >= total, TimeSpan.FromSeconds(30), "all random packets handled");
        Assert.True(app.Stats.Statsd.BadLinesSeen > Random / 2, $"bad lines {app.Stats.Statsd.BadLinesSeen}");

        // Flush away whatever the fuzz produced, then a clean valid metric must flush exactly.
        var service = app.App.Services.GetRequiredService<CollectorService>();
        service.Scheduler!.FlushOnce();
        var before = app.Stats.Statsd.MetricsReceived;
        udp.Send(Encoding.UTF8.GetBytes("after.fuzz:3|c\nafter.fuzz:4|c|@0.5\nafter.timer:7|ms"));
        await Poll.UntilAsync(() => app.Stats.Statsd.MetricsReceived >= before + 3, TimeSpan.FromSeconds(10), "valid packet");
        service.Scheduler.FlushOnce();
        await Poll.UntilAsync(() => app.Stats.Sinks.Sum(s => s.BatchesWritten) >= 2 && app.Stats.Sinks.Sum(s => s.BatchesQueued) == 0,
            TimeSpan.FromSeconds(20), "flushes written");
        await app.DisposeAsync();
        await Poll.UntilAsync(() => carbon.Flushes.Count >= 1, TimeSpan.FromSeconds(10), "carbon connection closed");
        var lines = carbon.Flushes.SelectMany(f => f).ToList();
        Assert.Contains("stats_counts.after.fuzz 11", lines.Select(l => string.Join(' ', l.Split(' ')[..2])));
        Assert.Contains("stats.timers.after.timer.upper 7", lines.Select(l => string.Join(' ', l.Split(' ')[..2])));
    }
}
