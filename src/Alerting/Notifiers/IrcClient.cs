using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Observe.Alerting.Pipeline;
using Observe.Common;

namespace Observe.Alerting.Notifiers;

/// <summary>
/// A persistent RFC 2812 client: registers (PASS/NICK/USER), identifies to NickServ, joins channels, answers PING,
/// and sends queued lines through a token bucket. A line leaves the queue only when the server has processed it: after
/// writing, the client sends a PING and drops the lines written before it when the matching PONG arrives (the server
/// handles a client's commands in order). Lines not confirmed when the connection dies are sent again after the
/// reconnect (the shared capped, jittered <see cref="Observe.Common.Backoff"/>), so a server restart loses nothing (at worst a line is repeated).
/// </summary>
internal sealed class IrcClient : IAsyncDisposable
{
    /// <summary>Text bytes per line: 512 minus CRLF, the command, the target and the prefix the server adds when relaying.</summary>
    internal const int MaxTextBytes = 400;

    private readonly IrcOptions _o;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly LinkedList<string> _queue = new();
    private readonly List<string> _inFlight = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _channels;
    private Task? _run;
    private long _pingSeq;
    public long Dropped, LinesSent, Connects;
    public volatile bool Registered;

    public IrcClient(IrcOptions options, IEnumerable<string> extraChannels, TimeProvider time, ILogger log)
    {
        _o = options; _time = time; _log = log;
        _channels = new HashSet<string>(options.Channels.Concat(extraChannels).Where(c => c.StartsWith('#') || c.StartsWith('&')), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Lines queued or written but not yet confirmed by the server.</summary>
    public int QueueDepth { get { lock (_gate) return _queue.Count + _inFlight.Count(l => !l.StartsWith("PING ", StringComparison.Ordinal)); } }

    public void Start() => _run ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Queues <paramref name="text"/> for <paramref name="target"/>, sanitised and split into lines that fit.</summary>
    public void Post(string target, string text)
    {
        var cmd = _o.UseNotice ? "NOTICE" : "PRIVMSG";
        var t = NotificationText.OneLine(target).Replace(" ", "");
        lock (_gate)
        {
            foreach (var chunk in Split(NotificationText.OneLine(text), MaxTextBytes))
            {
                _queue.AddLast($"{cmd} {t} :{chunk}");
                if (_queue.Count > Math.Max(1, _o.QueueCapacity)) { _queue.RemoveFirst(); Interlocked.Increment(ref Dropped); }
            }
        }
        _signal.Release();
    }

    /// <summary>Splits at spaces where possible, never inside a UTF-8 sequence, each piece at most <paramref name="maxBytes"/> bytes.</summary>
    internal static IEnumerable<string> Split(string text, int maxBytes)
    {
        var s = text.Trim();
        if (s.Length == 0) yield break;
        while (Encoding.UTF8.GetByteCount(s) > maxBytes)
        {
            var bytes = 0;
            var cut = 0;
            for (var i = 0; i < s.Length;)
            {
                var len = char.IsHighSurrogate(s[i]) && i + 1 < s.Length ? 2 : 1;
                var b = Encoding.UTF8.GetByteCount(s.AsSpan(i, len));
                if (bytes + b > maxBytes) break;
                bytes += b; i += len; cut = i;
            }
            var space = s.LastIndexOf(' ', Math.Max(0, cut - 1), cut);
            var at = space > cut / 2 ? space : cut;
            yield return s[..at].TrimEnd();
            s = s[at..].TrimStart();
        }
        if (s.Length > 0) yield return s;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = new Backoff(DurationSyntax.Parse(_o.ReconnectMinDelay), DurationSyntax.Parse(_o.ReconnectMaxDelay), _time);
        while (!stop.IsCancellationRequested)
        {
            var registered = false;
            try
            {
                registered = await SessionAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
            catch (Exception e) { _log.LogWarning("IRC {Server}:{Port}: {Error}", _o.Server, _o.Port, e.Message); }
            Registered = false;
            lock (_gate)
            {
                // Not confirmed by a PONG: the server may not have seen them; send them again first.
                for (var i = _inFlight.Count - 1; i >= 0; i--) if (!_inFlight[i].StartsWith("PING ", StringComparison.Ordinal)) _queue.AddFirst(_inFlight[i]);
                _inFlight.Clear();
            }
            if (registered) backoff.Reset();
            var delay = backoff.Next();
            _log.LogInformation("IRC: reconnecting in {Delay}", delay);
            try { await Task.Delay(delay, _time, stop).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
        }
    }

    /// <returns>Whether the session got as far as registration.</returns>
    private async Task<bool> SessionAsync(CancellationToken stop)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_o.Server, _o.Port, stop).ConfigureAwait(false);
        Stream stream = tcp.GetStream();
        if (_o.Tls)
        {
            var ssl = new SslStream(stream, false, _o.TlsVerify ? null : (_, _, _, _) => true);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = _o.Server }, stop).ConfigureAwait(false);
            stream = ssl;
        }
        await using var owned = stream.ConfigureAwait(false);
        Interlocked.Increment(ref Connects);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var writeLock = new SemaphoreSlim(1, 1);
        async Task Write(string line)
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\r\n");
            await writeLock.WaitAsync(session.Token).ConfigureAwait(false);
            try
            {
                await stream.WriteAsync(bytes, session.Token).ConfigureAwait(false);
                await stream.FlushAsync(session.Token).ConfigureAwait(false);
            }
            finally { writeLock.Release(); }
        }
        var nick = NotificationText.OneLine(_o.Nick).Replace(" ", "");
        if (_o.Password is { Length: > 0 } pass) await Write($"PASS {NotificationText.OneLine(pass)}").ConfigureAwait(false);
        await Write($"NICK {nick}").ConfigureAwait(false);
        await Write($"USER {NotificationText.OneLine(_o.User).Replace(" ", "")} 0 * :{NotificationText.OneLine(_o.RealName)}").ConfigureAwait(false);

        using var reader = new StreamReader(stream, new UTF8Encoding(false, false), false, 4096, leaveOpen: true);
        Task? sender = null;
        var registered = false;
        try
        {
            while (true)
            {
                var line = await reader.ReadLineAsync(session.Token).ConfigureAwait(false);
                if (line == null) throw new IOException("server closed the connection");
                var (_, command, args) = Parse(line);
                switch (command)
                {
                    case "PING":
                        await Write($"PONG :{(args.Count > 0 ? args[^1] : "")}").ConfigureAwait(false);
                        break;
                    case "PONG":
                        if (args.Count > 0) Confirm(args[^1]);
                        break;
                    case "433": // nickname in use
                        if (!registered) { nick = nick.Length < 15 ? nick + "_" : nick[..^1] + "_"; await Write($"NICK {nick}").ConfigureAwait(false); }
                        break;
                    case "001":
                        registered = true;
                        Registered = true;
                        _log.LogInformation("IRC: registered as {Nick} on {Server}:{Port}", nick, _o.Server, _o.Port);
                        if (_o.NickservPassword is { Length: > 0 } ns) await Write($"PRIVMSG NickServ :IDENTIFY {NotificationText.OneLine(ns)}").ConfigureAwait(false);
                        foreach (var c in _channels) await Write($"JOIN {NotificationText.OneLine(c).Replace(" ", "")}").ConfigureAwait(false);
                        sender = Task.Run(() => SendLoopAsync(Write, session.Token));
                        break;
                    case "ERROR":
                        throw new IOException($"server said ERROR {(args.Count > 0 ? args[^1] : "")}");
                }
            }
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
            if (sender != null) try { await sender.ConfigureAwait(false); } catch (Exception) { }
            Registered = false;
        }
    }

    private void Confirm(string token)
    {
        lock (_gate)
        {
            var i = _inFlight.IndexOf($"PING :{token}");
            if (i < 0) return;
            Interlocked.Add(ref LinesSent, _inFlight.Take(i).Count(l => !l.StartsWith("PING ", StringComparison.Ordinal)));
            _inFlight.RemoveRange(0, i + 1);
        }
    }

    private async Task SendLoopAsync(Func<string, Task> write, CancellationToken ct)
    {
        var refill = DurationSyntax.Parse(_o.FloodInterval);
        var burst = Math.Max(1, _o.FloodBurst);
        double tokens = burst;
        var last = _time.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            string? line;
            lock (_gate) line = _queue.First?.Value;
            if (line == null)
            {
                await _signal.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                continue;
            }
            // Token bucket (RFC 1459 §8.10): a burst, then one line per floodInterval.
            while (true)
            {
                var now = _time.GetTimestamp();
                tokens = Math.Min(burst, tokens + (refill <= TimeSpan.Zero ? burst : _time.GetElapsedTime(last, now) / refill));
                last = now;
                if (tokens >= 1) break;
                await Task.Delay(TimeSpan.FromTicks((long)((1 - tokens) * refill.Ticks) + 1), _time, ct).ConfigureAwait(false);
            }
            tokens -= 1;
            await write(line).ConfigureAwait(false);
            bool more;
            string? ping = null;
            lock (_gate)
            {
                if (_queue.First?.Value == line) _queue.RemoveFirst();
                _inFlight.Add(line);
                more = _queue.Count > 0;
                if (!more || _inFlight.Count >= 8)
                {
                    ping = $"PING :observe{Interlocked.Increment(ref _pingSeq)}";
                    _inFlight.Add(ping);
                }
            }
            if (ping != null) await write(ping).ConfigureAwait(false);
        }
    }

    internal static (string? Prefix, string Command, List<string> Args) Parse(string line)
    {
        string? prefix = null;
        var s = line;
        if (s.StartsWith(':'))
        {
            var sp = s.IndexOf(' ');
            prefix = sp < 0 ? s[1..] : s[1..sp];
            s = sp < 0 ? "" : s[(sp + 1)..];
        }
        var args = new List<string>();
        string? trailing = null;
        var t = s.IndexOf(" :", StringComparison.Ordinal);
        if (t >= 0) { trailing = s[(t + 2)..]; s = s[..t]; }
        var parts = s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var command = parts.Length > 0 ? parts[0].ToUpperInvariant() : "";
        args.AddRange(parts.Skip(1));
        if (trailing != null) args.Add(trailing);
        return (prefix, command, args);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run != null) try { await _run.ConfigureAwait(false); } catch (Exception) { }
        _stop.Dispose();
    }
}

/// <summary>IRC receiver: posts the notification's one-line template to a channel through the shared client.</summary>
internal sealed class IrcNotifier(IrcClient client, IrcReceiverOptions options, IrcOptions irc, TemplateOptions templates) : INotifier
{
    public string Kind => "irc";

    public Task SendAsync(Notification n, CancellationToken ct)
    {
        client.Post(options.Channel, Line(n));
        return Task.CompletedTask;
    }

    internal string Line(Notification n)
    {
        var text = NotificationText.Render(templates.IrcLine, n);
        if (!irc.Colors) return text;
        var colour = n.Kind switch { NotificationKind.Firing => "04", NotificationKind.Resolved => "03", NotificationKind.Acknowledged => "07", _ => "12" };
        var status = NotificationText.Status(n);
        var i = text.IndexOf(status, StringComparison.Ordinal);
        return i < 0 ? text : text[..i] + "\x02\x03" + colour + status + "\x0F" + text[(i + status.Length)..];
    }
}
