using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Observe.TestSupport;

namespace Observe.Integration;

internal static class Tcp
{
    public static async Task WaitForPortAsync(int port, TimeSpan timeout, string what) =>
        await Poll.UntilAsync(async () =>
        {
            using var c = new TcpClient();
            await c.ConnectAsync("127.0.0.1", port);
            return true;
        }, timeout, what);
}

/// <summary>A real ngircd on a free loopback port with one predefined channel; restartable on the same port.</summary>
internal sealed class NgircdServer : IAsyncDisposable
{
    private readonly string _dir = Repo.TempDir("ngircd");
    private PeerProcess? _process;
    public int Port { get; } = FreePort.Get();
    public string Channel => "#ops";

    public static async Task<NgircdServer> StartAsync()
    {
        var s = new NgircdServer();
        await s.StartProcessAsync();
        return s;
    }

    public async Task StartProcessAsync()
    {
        var conf = Path.Combine(_dir, "ngircd.conf");
        await File.WriteAllTextAsync(conf, $"""
            [Global]
            Name = irc.test
            Info = Observe test server
            Listen = 127.0.0.1
            Ports = {Port}
            MotdPhrase = test
            PidFile = {_dir}/ngircd.pid
            [Limits]
            MaxConnectionsIP = 0
            [Options]
            PAM = no
            Ident = no
            DNS = no
            [Channel]
            Name = {Channel}
            """);
        _process = PeerProcess.Start("/usr/sbin/ngircd", ["--config", conf, "--nodaemon"], _dir, Path.Combine(_dir, "ngircd.log"));
        await Tcp.WaitForPortAsync(Port, TimeSpan.FromSeconds(20), "ngircd to listen");
    }

    public async Task StopProcessAsync()
    {
        if (_process != null) await _process.DisposeAsync();
        _process = null;
    }

    public string Log() => File.Exists(Path.Combine(_dir, "ngircd.log")) ? File.ReadAllText(Path.Combine(_dir, "ngircd.log")) : "";

    public async ValueTask DisposeAsync() => await StopProcessAsync();
}

/// <summary>A raw IRC client in the channel that records every line the server sends it.</summary>
internal sealed class IrcWatcher : IAsyncDisposable
{
    private readonly TcpClient _tcp = new();
    private readonly CancellationTokenSource _cts = new();
    private Task? _reader;
    private StreamWriter? _writer;
    public ConcurrentQueue<string> Lines { get; } = new();
    public volatile bool Joined;

    public static async Task<IrcWatcher> JoinAsync(int port, string channel, string nick = "watcher")
    {
        var w = new IrcWatcher();
        await w._tcp.ConnectAsync("127.0.0.1", port);
        var stream = w._tcp.GetStream();
        w._writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        var reader = new StreamReader(stream, new UTF8Encoding(false));
        await w._writer.WriteLineAsync($"NICK {nick}");
        await w._writer.WriteLineAsync($"USER {nick} 0 * :watcher");
        w._reader = Task.Run(async () =>
        {
            try
            {
                while (await reader.ReadLineAsync(w._cts.Token) is { } line)
                {
                    w.Lines.Enqueue(line);
                    var parts = line.Split(' ');
                    if (parts[0] == "PING") await w._writer.WriteLineAsync("PONG " + line[5..]);
                    else if (parts.Length > 1 && parts[1] == "001") await w._writer.WriteLineAsync($"JOIN {channel}");
                    else if (parts.Length > 2 && parts[1] == "JOIN" && parts[0].StartsWith($":{nick}!", StringComparison.Ordinal)) w.Joined = true;
                }
            }
            catch (Exception) { }
        });
        await Poll.UntilAsync(() => w.Joined, TimeSpan.FromSeconds(15), $"{nick} to join {channel}");
        return w;
    }

    /// <summary>Lines from <paramref name="nick"/> (its NOTICE/PRIVMSG to the channel, but also any other command it managed to send).</summary>
    public List<string> From(string nick) => Lines.Where(l => l.StartsWith($":{nick}!", StringComparison.Ordinal)).ToList();

    /// <summary>The text of NOTICE/PRIVMSG lines from <paramref name="nick"/>.</summary>
    public List<string> Texts(string nick) => From(nick).Select(l => l.Split(' ', 4)).Where(p => p.Length == 4 && p[1] is "NOTICE" or "PRIVMSG")
        .Select(p => p[3].TrimStart(':')).ToList();

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _tcp.Dispose();
        if (_reader != null) await _reader;
    }
}

/// <summary>Debian's aiosmtpd storing every message as a file (Maildir).</summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private readonly PeerProcess _process;
    public string MailDir { get; }
    public int Port { get; }

    private SmtpSink(PeerProcess p, string dir, int port) { _process = p; MailDir = dir; Port = port; }

    public static async Task<SmtpSink> StartAsync()
    {
        var dir = Repo.TempDir("smtp");
        var box = Path.Combine(dir, "mail");
        foreach (var d in new[] { "tmp", "new", "cur" }) Directory.CreateDirectory(Path.Combine(box, d));
        var port = FreePort.Get();
        var p = PeerProcess.Start("/usr/bin/python3", ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", box], dir, Path.Combine(dir, "smtpd.log"));
        await Tcp.WaitForPortAsync(port, TimeSpan.FromSeconds(20), "aiosmtpd to listen");
        return new SmtpSink(p, box, port);
    }

    public List<string> Messages() => Directory.GetFiles(Path.Combine(MailDir, "new")).Concat(Directory.GetFiles(Path.Combine(MailDir, "cur")))
        .Select(File.ReadAllText).ToList();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>One local HTTP server playing three parts: the web shop's health endpoint (fails when told), a PagerDuty
/// Events v2 receiver (<c>/v2/enqueue</c>) and a generic webhook receiver (<c>/hook</c>); it records every request body.</summary>
internal sealed class HttpPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public int Port { get; }
    public volatile bool Healthy = true;
    public ConcurrentQueue<(string Path, string Body, IReadOnlyDictionary<string, string> Headers)> Requests { get; } = new();

    private HttpPeer(WebApplication app, int port) { _app = app; Port = port; }

    public static async Task<HttpPeer> StartAsync()
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var peer = new HttpPeer(app, port);
        app.MapGet("/health", () => peer.Healthy ? Results.Text("ok") : Results.Text("database down", statusCode: 500));
        async Task<IResult> Record(HttpContext ctx)
        {
            using var r = new StreamReader(ctx.Request.Body);
            var body = await r.ReadToEndAsync();
            peer.Requests.Enqueue((ctx.Request.Path, body, ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())));
            return Results.Json(new { status = "success", message = "Event processed" }, statusCode: 202);
        }
        app.MapPost("/v2/enqueue", (Delegate)Record);
        app.MapPost("/hook", (Delegate)Record);
        await app.StartAsync();
        return peer;
    }

    public List<System.Text.Json.JsonElement> Bodies(string path) =>
        Requests.Where(r => r.Path == path).Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement).ToList();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
