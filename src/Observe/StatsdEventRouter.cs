using Observe.Checks;
using Observe.Collector;

namespace Observe.Host;

/// <summary>Sends DogStatsD events to the events store and service checks to Checks' passive results.</summary>
internal sealed class StatsdEventRouter(IStatsdEventSink events, IServiceCheckReceiver? serviceChecks) : IStatsdEventSink
{
    private long _unmatched;
    public long UnmatchedServiceChecks => Interlocked.Read(ref _unmatched);

    public void OnEvent(StatsdEvent statsdEvent) => events.OnEvent(statsdEvent);

    public void OnServiceCheck(StatsdServiceCheck serviceCheck)
    {
        // A service check no passive check is declared for is counted, not an error.
        if (serviceChecks?.OnServiceCheck(serviceCheck) != true) Interlocked.Increment(ref _unmatched);
    }
}
