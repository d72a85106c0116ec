using Microsoft.Extensions.Logging;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Delivers every batch to every sink. Each sink has its own queue and worker, so a slow or failed
/// sink never delays the others or the flush. A failed write is retried with the shared capped, jittered backoff, the
/// batch kept; only when a sink's queue is full is its oldest batch dropped, and that is counted and logged.
/// A sink that keeps the client's tag order gets the batch as published; every other sink gets it with tagged names
/// in canonical form (computed once per batch, only when some sink needs it).
/// </summary>
internal sealed class SinkFanout : IAsyncDisposable
{
    private readonly List<SinkWorker<MetricBatch>> _workers;
    private readonly bool[] _keepsClientOrder;
    /// <summary>Each sink's name, in the order of the workers (a flush trace's order).</summary>
    public IReadOnlyList<string> SinkNames { get; }
    private readonly TaggedPathCanonicaliser _canonicaliser = new();

    public SinkFanout(IEnumerable<IMetricSink> sinks, int queueCapacity, ILogger log, TimeProvider? time = null)
    {
        var list = sinks.ToList();
        _workers = list.Select((s, i) => new SinkWorker<MetricBatch>(s.Name, s.WriteAsync, b => b.Points.Count, queueCapacity, log, time,
            (tag, queued, write) => ((FlushTrace)tag).SinkWritten(i, queued, write, s))).ToList();
        _keepsClientOrder = list.Select(s => s.KeepsClientTagOrder).ToArray();
        SinkNames = list.Select(s => s.Name).ToArray();
    }

    public IReadOnlyList<SinkStats> Stats => _workers.Select(w => w.Stats).ToList();

    public int SinkCount => _workers.Count;

    /// <param name="trace">a StatsD flush's trace, told as each sink writes the batch (null: a Graphite batch, not traced)</param>
    /// <returns>false when there was nothing to hand on (no points): no sink will write it</returns>
    public bool Publish(MetricBatch batch, FlushTrace? trace = null)
    {
        if (batch.Points.Count == 0) return false;
        MetricBatch? canonical = null;
        for (var i = 0; i < _workers.Count; i++)
        {
            if (_keepsClientOrder[i]) { _workers[i].Enqueue(batch, trace); continue; }
            if (canonical == null) lock (_canonicaliser) canonical = _canonicaliser.Canonicalise(batch);
            _workers[i].Enqueue(canonical, trace);
        }
        return _workers.Count > 0;
    }

    /// <summary>Waits until every queued batch has been written (or the token fires).</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        foreach (var w in _workers) await w.DrainAsync(ct);
    }

    /// <summary>Every sink gives up what it holds (a stop cut short); see <see cref="SinkWorker{TBatch}.Abort"/>.</summary>
    public void Abort()
    {
        foreach (var w in _workers) w.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) await w.DisposeAsync();
    }
}
