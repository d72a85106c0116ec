using System.Buffers;
using Microsoft.Extensions.Logging;
using Observe.Collector;

namespace Observe.Storage.Sinks.Spool;

/// <summary>
/// A spool and its delivery loop for one named sink: the part every spooled sink shares.
/// The spool lives in <c>&lt;dataDir&gt;/spool/&lt;name&gt;/</c>.
/// </summary>
internal sealed class SpoolPipeline : ISpoolStatsSource, IAsyncDisposable
{
    private readonly Lock _encodeLock = new();
    private readonly ArrayBufferWriter<byte> _encoded = new(64 * 1024);
    private readonly ISpoolTarget _target;

    public SpoolPipeline(string name, string spoolDirectory, ISpoolTarget target, SpoolLimits limits, TimeSpan retryMax,
        TimeProvider? time = null, ILogger? log = null)
    {
        Name = name;
        _target = target;
        Spool = DiskSpool.Open(spoolDirectory, limits, time);
        Delivery = new SpoolDelivery(Spool, target, retryMax, time, log);
        Delivery.Start();
    }

    public string Name { get; }
    public DiskSpool Spool { get; }
    public SpoolDelivery Delivery { get; }

    public static string DirectoryFor(string dataDir, string sink) => Path.Combine(dataDir, "spool", sink);

    /// <summary>Encodes into one reused buffer and appends; returns once the record is on disk.</summary>
    public void Append<TState>(TState state, Action<TState, IBufferWriter<byte>> encode)
    {
        lock (_encodeLock)
        {
            _encoded.ResetWrittenCount();
            encode(state, _encoded);
            if (_encoded.WrittenCount == 0) return;
            Spool.Append(_encoded.WrittenSpan);
            // Do not keep a one-off huge buffer alive for the sink's life.
            if (_encoded.Capacity > 16 << 20) _encoded.Clear();
        }
    }

    public SpoolStats Stats => new(Name, Spool.Count, Spool.PendingBytes, Spool.OldestAgeSeconds,
        Interlocked.Read(ref Spool.Appended), Interlocked.Read(ref Spool.Delivered), Delivery.Retries,
        Interlocked.Read(ref Spool.Rejected), Interlocked.Read(ref Spool.DroppedOldest), Delivery.LastError,
        Interlocked.Read(ref Spool.CorruptSkipped));

    private int _disposed;

    /// <summary>
    /// Gives the delivery loop up to <paramref name="drainTimeout"/> (2 s by default) to send what is pending while
    /// the target answers, then stops; whatever is left stays on disk for the next start.
    /// </summary>
    public async ValueTask DisposeAsync() => await DisposeAsync(TimeSpan.FromSeconds(2));

    public async ValueTask DisposeAsync(TimeSpan drainTimeout)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var deadline = DateTime.UtcNow + drainTimeout;
        var retries = Delivery.Retries;
        while (Spool.Count > 0 && Delivery.Retries == retries && DateTime.UtcNow < deadline) await Task.Delay(10);
        await Delivery.DisposeAsync();
        Spool.Dispose();
        (_target as IDisposable)?.Dispose();
    }
}

/// <summary>What every spooled sink shares: a name, its pipeline, its stats, and shutdown.</summary>
internal abstract class SpooledSink(SpoolPipeline pipeline) : ISpoolStatsSource, IAsyncDisposable
{
    public string Name => Pipeline.Name;
    public SpoolStats Stats => Pipeline.Stats;
    internal SpoolPipeline Pipeline { get; } = pipeline;
    public ValueTask DisposeAsync() => Pipeline.DisposeAsync();
}

/// <summary>A metric sink that is acknowledged once the encoded flush is in its disk spool.</summary>
internal sealed class SpooledMetricSink(SpoolPipeline pipeline, IMetricRecordEncoder encoder) : SpooledSink(pipeline), IMetricSink
{
    public bool KeepsClientTagOrder => encoder.KeepsClientTagOrder;

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Points.Count > 0) Pipeline.Append((encoder, batch), static (s, w) => s.encoder.Encode(s.batch, w));
        return ValueTask.CompletedTask;
    }
}

/// <summary>A log sink that is acknowledged once the encoded batch is in its disk spool.</summary>
internal sealed class SpooledLogSink(SpoolPipeline pipeline, ILogRecordEncoder encoder) : SpooledSink(pipeline), ILogSink
{
    public ValueTask WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count > 0) Pipeline.Append((encoder, events), static (s, w) => s.encoder.Encode(s.events, w));
        return ValueTask.CompletedTask;
    }
}
