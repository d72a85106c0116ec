using System.Reflection;
using Observe.Collector.Listeners;
using Observe.Collector.Statsd;

namespace Observe.Collector.Tests.Statsd;

/// <summary>
/// The per-datagram path is compiled fully optimised at its first call. Under tiered compilation it ran at Tier0 for the
/// first ~2 s after start, behind the start-up's other methods waiting for Tier1, and a restarted Observe meeting a burst
/// in that window lost datagrams at 1.6–1.8 M lines/s where the same code, once optimised, keeps up with 3 M
/// (docs/benchmarks.md, "StatsD ingest": the UDP bench measures from a fresh start).
/// </summary>
public class HotPathCompilationTests
{
    public static TheoryData<Type, string> PerDatagramMethods => new()
    {
        { typeof(UdpStatsdListener), "ReceiveLoop" },
        { typeof(StatsdAggregator), nameof(StatsdAggregator.HandlePacket) },
        { typeof(StatsdAggregator), "HandleLine" },
        { typeof(StatsdAggregator), "HandleSample" },
        { typeof(StatsdAggregator), "AddCounter" },
        { typeof(StatsdAggregator), "AddTimer" },
        { typeof(StatsdAggregator), "SetGauge" },
        { typeof(StatsdAggregator), "AddToSet" },
        { typeof(TimerSamples), nameof(TimerSamples.Add) },
        { typeof(JsSemantics), nameof(JsSemantics.ToNumber) },
        { typeof(JsSemantics), nameof(JsSemantics.Trim) },
        { typeof(StatsdNaming), nameof(StatsdNaming.SanitizeInPlace) },
    };

    [Theory]
    [MemberData(nameof(PerDatagramMethods))]
    public void A_per_datagram_method_is_compiled_optimised_at_its_first_call(Type type, string name)
    {
        var methods = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m.Name == name).ToList();
        Assert.NotEmpty(methods);
        Assert.Contains(methods, m => m.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization));
    }
}
