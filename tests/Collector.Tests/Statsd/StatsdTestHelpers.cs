using System.Text;
using Observe.Collector.Statsd;

namespace Observe.Collector.Tests.Statsd;

internal sealed class RecordingEventSink : IStatsdEventSink
{
    public List<StatsdEvent> Events { get; } = [];
    public List<StatsdServiceCheck> Checks { get; } = [];
    public void OnEvent(StatsdEvent statsdEvent) { lock (Events) Events.Add(statsdEvent); }
    public void OnServiceCheck(StatsdServiceCheck serviceCheck) { lock (Checks) Checks.Add(serviceCheck); }
}

internal static class StatsdTest
{
    public static StatsdAggregator Aggregator(Action<StatsdOptions>? configure = null, IStatsdEventSink? sink = null)
    {
        var o = new StatsdOptions { FlushInterval = 1000 };
        configure?.Invoke(o);
        return new StatsdAggregator(o, sink);
    }

    public static void Send(this StatsdAggregator a, params string[] packets)
    {
        foreach (var p in packets) a.HandlePacket(Encoding.UTF8.GetBytes(p));
    }

    public static Dictionary<string, double> FlushDict(this StatsdAggregator a) =>
        a.Flush(1_700_000_000_000).Points.ToDictionary(p => p.Path, p => p.Value);

    /// <summary>Flushes and returns one timer's stats (key → value) from the default legacy namespace.</summary>
    public static Dictionary<string, double> Timer(string[] lines, Action<StatsdOptions>? configure = null, string key = "a")
    {
        var a = Aggregator(configure);
        a.Send(lines);
        var prefix = "stats.timers." + key + ".";
        return a.FlushDict().Where(kv => kv.Key.StartsWith(prefix)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
    }
}
