using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The ports of one `observe` process the soak aims at.</summary>
internal sealed record SoakPorts(int Http, int Statsd, int Graphite, int UdpJson, int Gelf);

/// <summary>
/// Hostile traffic for the soak test (issue 15): a set of loops, each rate-limited by a <see cref="PeriodicTimer"/>, on
/// loopback only, so the whole mix stays at a few hundred operations a second beside the other test projects on a
/// 2-core machine. Every loop counts what it did; an operation that fails on the sender's side (a refused or reset
/// connection) is counted, not thrown, because refusing is a fair answer to hostile input. HTTP answers are tallied by
/// status so the test can assert that none was a 5xx.
/// </summary>
internal sealed class HostileTraffic(SoakPorts ports, string adminToken, HttpClient http)
{
    private readonly IPEndPoint _statsd = new(IPAddress.Loopback, ports.Statsd);
    private readonly IPEndPoint _udpJson = new(IPAddress.Loopback, ports.UdpJson);
    private readonly IPEndPoint _gelf = new(IPAddress.Loopback, ports.Gelf);
    private readonly Dictionary<string, long> _ops = [];
    private readonly Dictionary<string, long> _httpStatus = [];
    private readonly List<string> _serverErrors = [];
    private long _senderErrors, _httpTimeouts;

    public IReadOnlyDictionary<string, long> Ops { get { lock (_ops) return new Dictionary<string, long>(_ops); } }
    public IReadOnlyDictionary<string, long> HttpStatus { get { lock (_httpStatus) return new Dictionary<string, long>(_httpStatus); } }
    public IReadOnlyList<string> ServerErrors { get { lock (_serverErrors) return [.. _serverErrors]; } }
    public long SenderErrors => Interlocked.Read(ref _senderErrors);
    /// <summary>Hostile HTTP requests that got no answer within the client's timeout.</summary>
    public long HttpTimeouts => Interlocked.Read(ref _httpTimeouts);

    /// <summary>Runs every loop until <paramref name="ct"/> is cancelled. Rates are per loop, in operations a second.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(
        Loop("statsd-udp", 60, StatsdUdp, ct),
        Loop("statsd-tcp", 4, StatsdTcp, ct),
        Loop("graphite-tcp", 8, GraphiteTcp, ct),
        Loop("idle-tcp", 10, IdleConnections, ct),
        Loop("connection-burst", 0.1, ConnectionBurst, ct),
        Loop("gelf-udp", 60, GelfUdp, ct),
        Loop("gelf-tcp", 3, GelfTcp, ct),
        Loop("udp-json", 40, UdpJson, ct),
        Loop("http", 12, Http, ct)).ContinueWith(_ => CloseIdle(), TaskScheduler.Default);

    private async Task Loop(string name, double perSecond, Func<long, CancellationToken, Task> op, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / perSecond));
        for (long i = 0; !ct.IsCancellationRequested; i++)
        {
            try { await op(i, ct); lock (_ops) _ops[name] = _ops.GetValueOrDefault(name) + 1; }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is SocketException or IOException or HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _senderErrors);
            }
            try { await timer.WaitForNextTickAsync(ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);
    private static string Tags(int n, int length = 8) => string.Join(',', Enumerable.Range(0, n).Select(i => $"t{i}:{new string('v', length)}"));

    /// <summary>StatsD lines that are not StatsD, or are StatsD past a bound.</summary>
    private static readonly string[] OddStatsd =
    [
        ":1|c", "a:|c", "a:1|", "a:1|q", "a:NaN|g", "a:1e999|ms", "a:-1|s|@", "a:1|c|@x", "a:1|c|@-1", "a::1|c",
        "a:1|c|#", "a:1|c|#,,,", "a:1|h|@0", "|||", "a:+-1|g", "_sc|x", "_e{999,1}:x|y", "_e{-1,-1}:|",
        "a:1|c\r\nb:2|c\r\n", "_sc|backup|2|h:web1|m:FORGED", "_e{6,6}:forged|forged|#deploy", "a:1|c|c:d:e", "a.b.c.d:1|ms|@1.5",
    ];

    private async Task StatsdUdp(long i, CancellationToken ct)
    {
        using var udp = new UdpClient();
        byte[] payload = (i % 6) switch
        {
            0 => RandomNumberGenerator.GetBytes(1 + (int)(i % 1400)),
            1 => Ascii("soak.huge." + new string('x', 9000) + ":1|c"),          // past maxLineBytes
            2 => Ascii(string.Join('\n', OddStatsd)),
            3 => Ascii($"soak.tagflood:1|c|#{Tags(100)}\nsoak.longtag:1|c|#k:{new string('v', 300)}"),  // maxTags, maxTagLength
            4 => Ascii(string.Join('\n', Enumerable.Range(0, 20).Select(k => $"soak.flood.n{i}_{k}:1|c"))),  // past maxActiveKeys
            _ => Ascii($"soak.rtags:1|c|#{string.Join(',', Enumerable.Range(0, 10).Select(_ => $"r{RandomNumberGenerator.GetInt32(1_000_000)}:{RandomNumberGenerator.GetInt32(1_000_000)}"))}"),
        };
        await udp.SendAsync(payload, _statsd, ct);
    }

    private async Task StatsdTcp(long i, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, ports.Statsd, ct);
        var s = tcp.GetStream();
        await s.WriteAsync(Ascii(string.Join('\n', OddStatsd) + "\n"), ct);
        await s.WriteAsync(Ascii("soak.tcphuge:" + new string('9', 20_000)), ct);  // no newline for 20 KB
        await s.WriteAsync(Ascii($"\nsoak.tcpflood.n{i}:1|c\n"), ct);
        await s.WriteAsync(RandomNumberGenerator.GetBytes(2000), ct);
    }

    private async Task GraphiteTcp(long i, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, ports.Graphite, ct);
        var s = tcp.GetStream();
        var lines = new StringBuilder();
        lines.Append("no value\n1 2 3 4\nsoak.g nan now\nsoak.g 1 -99999999999999999999\n\n \t \nsoak.g 1e400 0\n");
        lines.Append($"soak.gtags;{string.Join(';', Enumerable.Range(0, 100).Select(k => $"t{k}=v"))} 1 {now}\n");     // maxTags
        lines.Append($"soak.gtag;k={new string('v', 300)} 1 {now}\n");                                                // maxTagLength
        for (var k = 0; k < 50; k++) lines.Append($"soak.gflood.n{i}_{k} 1 {now}\n");                                  // past maxSeries
        await s.WriteAsync(Ascii(lines.ToString()), ct);
        await s.WriteAsync(Ascii("soak.ghuge." + new string('x', 20_000) + $" 1 {now}\n"), ct);                        // past maxLineBytes
        await s.WriteAsync(RandomNumberGenerator.GetBytes(1000), ct);
    }

    // Many idle connections on every TCP listener: each lives for the last 200 opened (about 20 s), so about 200 are
    // open at any time, half of them on the plaintext port.
    private readonly Queue<TcpClient> _idle = new();

    private async Task IdleConnections(long i, CancellationToken ct)
    {
        var port = (i % 4) switch { 0 or 1 => ports.Graphite, 2 => ports.Statsd, _ => ports.Gelf };
        var tcp = new TcpClient();
        lock (_idle)
        {
            _idle.Enqueue(tcp);
            if (_idle.Count > 200) _idle.Dequeue().Dispose();
        }
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
    }

    // Every 10 s, 100 connections to the plaintext port at once, held for 2 s: past its connection cap.
    private async Task ConnectionBurst(long i, CancellationToken ct)
    {
        var burst = Enumerable.Range(0, 100).Select(_ => new TcpClient()).ToList();
        try
        {
            await Task.WhenAll(burst.Select(async c =>
            {
                try { await c.ConnectAsync(IPAddress.Loopback, ports.Graphite, ct); }
                catch (SocketException) { Interlocked.Increment(ref _senderErrors); }
            }));
            await Task.Delay(TimeSpan.FromSeconds(2), ct);
        }
        finally { foreach (var c in burst) c.Dispose(); }
    }

    private void CloseIdle()
    {
        lock (_idle) while (_idle.Count > 0) _idle.Dequeue().Dispose();
    }

    private static readonly byte[] GzipBomb = GelfWire.Compress(Ascii("{\"short_message\":\"" + new string('z', 2 << 20) + "\"}"), "gzip");

    private async Task GelfUdp(long i, CancellationToken ct)
    {
        using var udp = new UdpClient();
        switch (i % 5)
        {
            case 0 or 1:
                // The first chunk of a three-chunk message that never completes: fills the reassembly table.
                var chunk = new byte[12 + 500];
                chunk[0] = 0x1e; chunk[1] = 0x0f;
                RandomNumberGenerator.Fill(chunk.AsSpan(2, 8));
                chunk[10] = 0; chunk[11] = 3;
                RandomNumberGenerator.Fill(chunk.AsSpan(12));
                await udp.SendAsync(chunk, _gelf, ct);
                break;
            case 2:
                await udp.SendAsync((byte[])[.. Ascii("""{"version":"1.1","host":"h","short_message":"bad """), 0xff, 0xfe, .. Ascii("\"}")], _gelf, ct);
                break;
            case 3:
                // Not gzip after all; or a zlib header asking for a preset dictionary (zlib refuses it another way).
                await udp.SendAsync(i % 2 == 0 ? (byte[])[0x1f, 0x8b, .. RandomNumberGenerator.GetBytes(300)] : [0x78, 0xbb, .. RandomNumberGenerator.GetBytes(300)], _gelf, ct);
                break;
            default:
                await udp.SendAsync(GzipBomb, _gelf, ct);  // 2 MiB once inflated: past logs.maxMessageBytes
                break;
        }
    }

    private async Task GelfTcp(long i, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, ports.Gelf, ct);
        var s = tcp.GetStream();
        await s.WriteAsync((byte[])[.. Ascii("""{"version":"1.1","host":"h","short_message":"bad """), 0xc3, 0x28, .. Ascii("\"}\0")], ct);
        await s.WriteAsync((byte[])[.. RandomNumberGenerator.GetBytes(500).Where(b => b != 0), 0], ct);
        await s.WriteAsync((byte[])[0x78, 0xbb, .. RandomNumberGenerator.GetBytes(100).Where(b => b != 0), 0], ct);
        await s.WriteAsync(Ascii($$"""{"version":"1.1","host":"h","short_message":"soak gelf tcp {{i}}"}""" + "\0"), ct);
    }

    private async Task UdpJson(long i, CancellationToken ct)
    {
        using var udp = new UdpClient();
        byte[] payload = (i % 5) switch
        {
            0 => RandomNumberGenerator.GetBytes(1 + (int)(i % 1400)),
            1 => [.. Ascii("""{"message":"bad """), 0xff, .. Ascii("\"}\n")],
            2 => Ascii(new string('{', 4000)),
            3 => Ascii("""{"message":"x","service":""" + new string('[', 200) + "}"),
            _ => Ascii($$"""{"message":"{{new string('m', 60_000)}}","service":"soak"}"""),
        };
        await udp.SendAsync(payload, _udpJson, ct);
    }

    /// <summary>The HTTP requests, taken in turn.</summary>
    private static readonly Func<string, HttpRequestMessage>[] Requests =
    [
        _ => Form("/render", "target", string.Concat(Enumerable.Repeat("sumSeries(", 3000)) + "soak.a" + new string(')', 3000)),
        _ => Form("/render", "target", "soak.a" + string.Concat(Enumerable.Repeat("|scale(1)", 3000))),
        _ => new(HttpMethod.Get, "/render?target=" + string.Join('.', Enumerable.Repeat("{a,b,c}", 30)) + "&from=-1h&format=json"),
        _ => new(HttpMethod.Get, "/metrics/find?query=soak.flood.*a*a*a*a*a*a*a*a*a*a*b"),
        _ => new(HttpMethod.Get, "/metrics/find?query=*.*.*.*.*a*1*2*3*4*5*6*7*8*9*z"),
        _ => new(HttpMethod.Get, "/render?target=summarize(stats_counts.soak.steady.*,%221s%22,%22sum%22)&from=-5y&format=json"),
        _ => new(HttpMethod.Get, "/render?target=hitcount(stats_counts.soak.*,%221s%22)&from=-5y&format=json"),
        _ => new(HttpMethod.Post, "/render") { Content = new ByteArrayContent(new byte[5 << 20]) { Headers = { ContentType = new("application/x-www-form-urlencoded") } } },
        token => Json(HttpMethod.Post, "/api/logs", "{\"message\":\"ok\"}\n{\"message\":\n[" + new string('[', 3000), token),
        token => new(HttpMethod.Post, "/api/logs") { Content = new ByteArrayContent([.. Ascii("{\"message\":\"good\"}\n{\"message\":\"bad "), 0xff, .. Ascii("\"}\n")]), Headers = { Authorization = new("Bearer", token) } },
        token => Json(HttpMethod.Post, "/api/deploys", "{\"service\":\"shop\",\"version\":", token),
        token => Json(HttpMethod.Post, "/api/deploys", "{\"service\":" + new string('[', 2000) + "}", token),
        token => Json(HttpMethod.Post, "/api/silences", "{\"matchers\":[{\"name\":1}],\"endsAt\":\"never\"}", token),
        token => Json(HttpMethod.Post, "/events/", "{\"what\":", token),
        token => Json(HttpMethod.Post, "/events/", "{\"what\":\"x\",\"when\":1e308,\"tags\":" + new string('[', 500) + "}", token),
        token => Json(HttpMethod.Post, "/api/checks/web1/backup/result", "{\"status\":99,\"output\":" + new string('{', 500), token),
        token => Json(HttpMethod.Post, "/api/checks/web1/backup/result", "{\"status\":\"x\"}", token),
        _ => Json(HttpMethod.Post, "/events/", "{\"what\":\"forged\"}", "not-a-token-" + Guid.NewGuid()),
        _ => Json(HttpMethod.Post, "/api/deploys", "{\"service\":\"shop\",\"version\":\"1\"}", "wrong-" + Guid.NewGuid()),
    ];

    private static HttpRequestMessage Form(string path, string key, string value) =>
        new(HttpMethod.Post, path) { Content = new FormUrlEncodedContent([new(key, value), new("format", "json")]) };

    private static HttpRequestMessage Json(HttpMethod method, string path, string body, string token) => new(method, path)
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
    };

    private async Task Http(long i, CancellationToken ct)
    {
        using var request = Requests[i % Requests.Length](adminToken);
        var what = $"{request.Method} {request.RequestUri?.OriginalString[..Math.Min(60, request.RequestUri.OriginalString.Length)]}";
        HttpResponseMessage response;
        try { response = await http.SendAsync(request, ct); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { Interlocked.Increment(ref _httpTimeouts); return; }
        using var _ = response;
        var code = (int)response.StatusCode;
        lock (_httpStatus) _httpStatus[$"{code}"] = _httpStatus.GetValueOrDefault($"{code}") + 1;
        if (code >= 500)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            lock (_serverErrors) _serverErrors.Add($"{what} → {code} {body[..Math.Min(body.Length, 200)]}");
        }
    }
}
