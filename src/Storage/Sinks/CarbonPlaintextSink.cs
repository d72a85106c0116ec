using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using Observe.Collector;

namespace Observe.Storage.Sinks;

/// <summary>
/// Writes batches to a Graphite carbon line receiver as plaintext (<c>path value timestamp\n</c>) over
/// one persistent TCP connection, reconnecting after a failure. A batch is acknowledged only once every
/// byte of it was handed to the kernel; on failure the whole batch is retried (carbon keeps the last
/// write of a slot, so a repeat is harmless).
/// </summary>
internal sealed class CarbonPlaintextSink : IMetricSink, IAsyncDisposable
{
    private readonly string _host;
    private readonly int _port;
    private TcpClient? _client;
    private Stream? _stream;

    public CarbonPlaintextSink(string host, int port, string name = "carbon")
    {
        _host = host;
        _port = port;
        Name = name;
    }

    public string Name { get; }

    public async ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        var writer = new ArrayBufferWriter<byte>(batch.Points.Count * 64);
        foreach (var p in batch.Points) Format(p, writer);
        try
        {
            if (_stream == null)
            {
                _client = new TcpClient { NoDelay = true };
                await _client.ConnectAsync(_host, _port, cancellationToken);
                _stream = _client.GetStream();
            }
            await _stream.WriteAsync(writer.WrittenMemory, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        catch
        {
            Reset();
            throw;
        }
    }

    /// <summary>One plaintext line; values in the shortest round-trip form.</summary>
    internal static void Format(in MetricPoint p, IBufferWriter<byte> writer)
    {
        var maxPath = Encoding.UTF8.GetMaxByteCount(p.Path.Length);
        var span = writer.GetSpan(maxPath + 64);
        var n = Encoding.UTF8.GetBytes(p.Path, span);
        span[n++] = (byte)' ';
        if (!p.Value.TryFormat(span[n..], out var w, "R", System.Globalization.CultureInfo.InvariantCulture)) w = 0;
        n += w;
        span[n++] = (byte)' ';
        Utf8Formatter.TryFormat(p.Timestamp, span[n..], out w);
        n += w;
        span[n++] = (byte)'\n';
        writer.Advance(n);
    }

    private void Reset()
    {
        _stream?.Dispose();
        _client?.Dispose();
        _stream = null;
        _client = null;
    }

    public ValueTask DisposeAsync()
    {
        Reset();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Prints each flushed point as a plaintext line on standard output (debugging).</summary>
internal sealed class ConsoleMetricSink : IMetricSink
{
    private readonly TextWriter _out;
    public ConsoleMetricSink(TextWriter? output = null) => _out = output ?? Console.Out;
    public string Name => "console";

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        var writer = new ArrayBufferWriter<byte>();
        foreach (var p in batch.Points) CarbonPlaintextSink.Format(p, writer);
        lock (_out) _out.Write(Encoding.UTF8.GetString(writer.WrittenSpan));
        return ValueTask.CompletedTask;
    }
}
