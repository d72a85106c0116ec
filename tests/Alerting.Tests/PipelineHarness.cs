using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting.Pipeline;
using Observe.TestSupport;

namespace Observe.Alerting.Tests;

internal sealed class RecordingQueue : INotificationQueue
{
    public ConcurrentQueue<Notification> All { get; } = new();
    public void Enqueue(Notification notification) => All.Enqueue(notification);
    public List<Notification> For(string receiver) => All.Where(n => n.Receiver == receiver).ToList();
}

/// <summary>A pipeline on a fake clock with a recording notify stage.</summary>
internal sealed class PipelineHarness
{
    public ManualTimeProvider Clock { get; } = new();
    public RecordingQueue Sent { get; } = new();
    public AlertPipeline Pipeline { get; }

    public PipelineHarness(AlertingOptions options)
    {
        Pipeline = new AlertPipeline(options, Sent, Clock, NullLogger.Instance);
    }

    public void Fire(string host, string check, string? summary = null, params (string, string)[] labels) =>
        Send(host, check, AlertStatus.Firing, summary, labels);

    public void Resolve(string host, string check) => Send(host, check, AlertStatus.Resolved, null, []);

    public void Send(string host, string check, AlertStatus status, string? summary, (string, string)[] labels)
    {
        var l = new Dictionary<string, string> { ["host"] = host, ["check"] = check };
        foreach (var (k, v) in labels) l[k] = v;
        Pipeline.SendAsync(new AlertEvent("checks", $"check/{host}/{check}", status, "critical", summary ?? $"{host}/{check} is CRITICAL", null, l, Clock.GetUtcNow()), default)
            .AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Moves the clock in steps of <paramref name="step"/> and runs the timers after each, as the host's ticker does.</summary>
    public void Advance(TimeSpan by, TimeSpan? step = null)
    {
        var s = step ?? TimeSpan.FromSeconds(1);
        for (var t = TimeSpan.Zero; t < by; t += s)
        {
            Clock.Advance(by - t < s ? by - t : s);
            Pipeline.Tick();
        }
    }

    public static AlertingOptions Options(Action<AlertingOptions>? configure = null)
    {
        var o = new AlertingOptions
        {
            Route = new RouteOptions { Receiver = "ops", GroupBy = ["host"], GroupWait = "30s", GroupInterval = "5m", RepeatInterval = "4h" },
            Receivers = [new ReceiverOptions { Name = "ops", Webhook = new() { Url = "http://127.0.0.1:1/" } }],
        };
        configure?.Invoke(o);
        return o;
    }
}
