using System.Buffers;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Collects Graphite plaintext and pickle points (which pass through unaggregated) into batches for the sinks:
/// a batch goes out when it reaches <see cref="MaxPoints"/> or once a second, whichever comes first.
/// </summary>
internal sealed class PlaintextBatcher : IAsyncDisposable
{
    public const int MaxPoints = 10_000;
    private readonly SinkFanout _fanout;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private List<MetricPoint> _pending = new(MaxPoints);
    private readonly ITimer _timer;
    private readonly GraphiteListenerOptions _options;
    private long _received, _bad, _tagLimitDrops;

    public PlaintextBatcher(SinkFanout fanout, TimeProvider time, GraphiteListenerOptions? options = null)
    {
        _fanout = fanout;
        _time = time;
        _options = options ?? new GraphiteListenerOptions();
        _timer = time.CreateTimer(_ => Flush(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public long LinesReceived => Interlocked.Read(ref _received);
    public long BadLines => Interlocked.Read(ref _bad);
    public long TagLimitDrops => Interlocked.Read(ref _tagLimitDrops);

    /// <summary>Parses every line of a chunk of complete lines; bad lines are counted and skipped.</summary>
    public void HandleChunk(ReadOnlySequence<byte> chunk)
    {
        var reader = new SequenceReader<byte>(chunk);
        while (!reader.End)
        {
            if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
            {
                line = reader.UnreadSequence;
                reader.AdvanceToEnd();
            }
            if (line.IsEmpty) continue;
            if (line.Length > _options.MaxLineBytes) { Interlocked.Increment(ref _bad); continue; }
            Interlocked.Increment(ref _received);
            var ok = line.IsSingleSegment
                ? Listeners.GraphitePlaintextParser.TryParseLine(line.FirstSpan, out var point)
                : Listeners.GraphitePlaintextParser.TryParseLine(line.ToArray(), out point);
            if (!ok) { Interlocked.Increment(ref _bad); continue; }
            Accept(point);
        }
    }

    /// <summary>One parsed point (plaintext or pickle): dropped and counted beyond the tag limits, else batched.</summary>
    public void Accept(MetricPoint point)
    {
        var semi = point.Path.IndexOf(';');
        if (semi > 0 && TagLimit.Exceeded(point.Path.AsSpan(semi + 1), ';', _options.MaxTags, _options.MaxTagLength))
        {
            Interlocked.Increment(ref _tagLimitDrops);
            return;
        }
        Add(point);
    }

    private void Add(MetricPoint point)
    {
        List<MetricPoint>? full = null;
        lock (_lock)
        {
            _pending.Add(point);
            if (_pending.Count >= MaxPoints) { full = _pending; _pending = new List<MetricPoint>(MaxPoints); }
        }
        if (full != null) _fanout.Publish(new MetricBatch(_time.GetUtcNow().ToUnixTimeSeconds(), full));
    }

    public void Flush()
    {
        List<MetricPoint> batch;
        lock (_lock)
        {
            if (_pending.Count == 0) return;
            batch = _pending;
            _pending = new List<MetricPoint>(MaxPoints);
        }
        _fanout.Publish(new MetricBatch(_time.GetUtcNow().ToUnixTimeSeconds(), batch));
    }

    public ValueTask DisposeAsync()
    {
        _timer.Dispose();
        Flush();
        return ValueTask.CompletedTask;
    }
}
