using Observe.Collector;
using Observe.Storage.Sinks;

namespace Observe.Storage;

/// <summary>Factories the host uses to build sinks from configuration; the sink types stay internal.</summary>
public static class MetricSinks
{
    public static IMetricSink Carbon(string host, int port) => new CarbonPlaintextSink(host, port);
    public static IMetricSink Console(TextWriter? output = null) => new ConsoleMetricSink(output);
}
