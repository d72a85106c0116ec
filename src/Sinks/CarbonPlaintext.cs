using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using Observe.Collector;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks;

/// <summary>One flush → carbon plaintext lines (<c>path value timestamp\n</c>), one spool record.</summary>
internal sealed class CarbonPlaintextEncoder : IMetricRecordEncoder
{
    public bool KeepsClientTagOrder => true;

    public void Encode(MetricBatch batch, IBufferWriter<byte> output)
    {
        foreach (var p in batch.Points) CarbonPlaintext.Format(p, output);
    }
}

/// <summary>
/// Sends spool records to a Graphite carbon line receiver over one persistent TCP connection, reconnecting
/// after a failure. Plaintext has no acknowledgement, so "delivered" means every byte went to the kernel; a
/// connection the server has closed (carbon restarted) is noticed before writing, not after. A carbon that is
/// stopping may still accept bytes into its socket and never read them, so after a reconnect the records written on
/// the lost connection during its last <see cref="ReplayWindow"/> are sent again first: carbon keeps the last write
/// of a slot, so a repeat is harmless. With a <c>recentFile</c> that window outlives a restart of Observe (the first
/// connection of the next process sends it again), since the spool already let go of those records.
/// </summary>
internal sealed class CarbonTcpTarget : ISpoolTarget, IDisposable
{
    private readonly string _host;
    private readonly int _port;
    private TcpClient? _client;
    private Stream? _stream;
    private readonly Queue<(long Ms, byte[] Bytes)> _recent = new();
    private long _recentBytes;

    internal static readonly TimeSpan ReplayWindow = TimeSpan.FromSeconds(30);
    private const long ReplayMaxBytes = 16 << 20;

    private readonly string? _recentFile;

    public CarbonTcpTarget(string host, int port, string name = "carbon", string? recentFile = null)
    {
        _host = host;
        _port = port;
        Name = name;
        _recentFile = recentFile;
        LoadRecent();
    }

    public string Name { get; }

    public async ValueTask<DeliveryOutcome> DeliverAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        try
        {
            // Readable with nothing to read = the peer closed (FIN/RST): reconnect instead of writing into it.
            if (_client is { } c && c.Client.Poll(0, SelectMode.SelectRead) && c.Client.Available == 0) Reset();
            if (_stream == null)
            {
                _client = new TcpClient { NoDelay = true };
                await _client.ConnectAsync(_host, _port, cancellationToken);
                _stream = _client.GetStream();
                foreach (var (_, bytes) in _recent) await _stream.WriteAsync(bytes, cancellationToken);
            }
            await _stream.WriteAsync(record, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
            Remember(record);
            return DeliveryOutcome.Ok;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Reset();
            return DeliveryOutcome.Retry(e.Message);
        }
    }

    private void Remember(ReadOnlyMemory<byte> record)
    {
        var now = Environment.TickCount64;
        _recent.Enqueue((now, record.ToArray()));
        _recentBytes += record.Length;
        while (_recent.Count > 0 && (now - _recent.Peek().Ms > ReplayWindow.TotalMilliseconds || _recentBytes > ReplayMaxBytes))
            _recentBytes -= _recent.Dequeue().Bytes.Length;
        SaveRecent();
    }

    // File: per record "unixMs i64 | length i32 | bytes", replaced by rename; not fsynced (a process crash keeps it).
    private void SaveRecent()
    {
        if (_recentFile == null) return;
        var tmp = _recentFile + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            Span<byte> head = stackalloc byte[12];
            var offset = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - Environment.TickCount64;
            foreach (var (ms, bytes) in _recent)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(head, ms + offset);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(head[8..], bytes.Length);
                f.Write(head);
                f.Write(bytes);
            }
        }
        File.Move(tmp, _recentFile, overwrite: true);
    }

    private void LoadRecent()
    {
        if (_recentFile == null) return;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_recentFile))!);
        if (!File.Exists(_recentFile)) return;
        var data = File.ReadAllBytes(_recentFile);
        var offset = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - Environment.TickCount64;
        for (var pos = 0; pos + 12 <= data.Length;)
        {
            var ms = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(pos));
            var len = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(pos + 8));
            if (len < 0 || len > data.Length - pos - 12) break; // torn: keep what parsed
            // No age cut here: the window is the lost connection's last 30 s, however long the outage lasted.
            _recent.Enqueue((ms - offset, data.AsSpan(pos + 12, len).ToArray()));
            _recentBytes += len;
            pos += 12 + len;
        }
    }

    private void Reset()
    {
        _stream?.Dispose();
        _client?.Dispose();
        _stream = null;
        _client = null;
    }

    public void Dispose() => Reset();
}

/// <summary>The plaintext line format carbon and the console sink share.</summary>
internal static class CarbonPlaintext
{
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
        foreach (var p in batch.Points) CarbonPlaintext.Format(p, writer);
        lock (_out) _out.Write(Encoding.UTF8.GetString(writer.WrittenSpan));
        return ValueTask.CompletedTask;
    }
}
