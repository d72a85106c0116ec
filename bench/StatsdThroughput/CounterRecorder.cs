using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Observe.TestSupport;

namespace Observe.Bench.StatsdThroughput;

/// <summary>How a target reports the benchmark's counters in Graphite plaintext.</summary>
public enum CounterSemantics
{
    /// <summary>Per-flush counts (Etsy/Observe <c>stats_counts.X</c>): the total is the sum over all flushes.</summary>
    PerFlushSum,
    /// <summary>Cumulative values (collectd <c>derive</c> with StoreRates false): the total is the last value per key.</summary>
    CumulativeLast,
}

/// <summary>
/// A Graphite plaintext TCP receiver that accepts any number of connections (Etsy opens one per
/// flush; Observe and collectd keep one open) and keeps the benchmark's counter total as lines arrive.
/// </summary>
public sealed class CounterRecorder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _accept;
    private readonly Func<string, bool> _isBenchCounter;
    private readonly CounterSemantics _semantics;
    private readonly object _gate = new();
    private readonly Dictionary<string, double> _last = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _sum;
    private long _lines;
    private TimeSpan _lastChange;
    private readonly List<string> _sample = new();
    private readonly string _readyMarker;

    public int Port { get; }
    public bool ReadySeen { get; private set; }

    public CounterRecorder(Func<string, bool> isBenchCounter, CounterSemantics semantics, string readyMarker)
    {
        _isBenchCounter = isBenchCounter;
        _semantics = semantics;
        _readyMarker = readyMarker;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptLoop();
    }

    public double Total { get { lock (_gate) return _semantics == CounterSemantics.PerFlushSum ? _sum : _last.Values.Sum(); } }
    public long Lines { get { lock (_gate) return _lines; } }
    public TimeSpan SinceLastChange { get { lock (_gate) return _clock.Elapsed - _lastChange; } }
    public IReadOnlyList<string> Sample { get { lock (_gate) return _sample.ToArray(); } }

    private Task AcceptLoop() => TcpAccept.EachAsync(_listener, async client =>
    {
        using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
        while (await reader.ReadLineAsync(_cts.Token) is { } line)
            if (line.Length > 0) OnLine(line);
    }, _cts.Token);

    private void OnLine(string line)
    {
        var parts = line.Split(' ');
        lock (_gate)
        {
            _lines++;
            if (_sample.Count < 40) _sample.Add(line);
            if (!ReadySeen && line.Contains(_readyMarker, StringComparison.Ordinal)) ReadySeen = true;
            if (parts.Length < 2 || !_isBenchCounter(parts[0])) return;
            if (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v)) return;
            if (_semantics == CounterSemantics.PerFlushSum)
            {
                if (v != 0) { _sum += v; _lastChange = _clock.Elapsed; }
            }
            else
            {
                if (!_last.TryGetValue(parts[0], out var old) || old != v) { _last[parts[0]] = v; _lastChange = _clock.Elapsed; }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        try { await _accept; } catch { }
    }
}
