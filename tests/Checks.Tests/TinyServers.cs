using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Observe.Checks.Tests;

/// <summary>A loopback TCP listener that answers every connection with a fixed HTTP response (or a banner).</summary>
internal sealed class TinyServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Connections;

    /// <param name="respond">Given the request text read so far (up to the first blank line), returns the bytes to send; null = send nothing.</param>
    public TinyServer(Func<string, string?> respond, bool readRequest = true, TimeSpan delay = default, System.Security.Cryptography.X509Certificates.X509Certificate2? tls = null)
    {
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (!_cts.IsCancellationRequested)
            {
                TcpClient c;
                try { c = await _listener.AcceptTcpClientAsync(_cts.Token); } catch { return; }
                Interlocked.Increment(ref Connections);
                _ = Task.Run(async () =>
                {
                    using var client = c;
                    try
                    {
                        Stream s = client.GetStream();
                        if (tls != null)
                        {
                            var ssl = new System.Net.Security.SslStream(s);
                            await ssl.AuthenticateAsServerAsync(tls);
                            s = ssl;
                        }
                        var req = new StringBuilder();
                        if (readRequest)
                        {
                            var buf = new byte[4096];
                            using var rcts = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
                            rcts.CancelAfter(2000);
                            while (!req.ToString().Contains("\r\n\r\n") && !req.ToString().Contains('\n'))
                            {
                                var n = await s.ReadAsync(buf, rcts.Token);
                                if (n == 0) break;
                                req.Append(Encoding.Latin1.GetString(buf, 0, n));
                            }
                        }
                        if (delay > TimeSpan.Zero) await Task.Delay(delay, _cts.Token);
                        if (respond(req.ToString()) is { } answer)
                        {
                            await s.WriteAsync(Encoding.UTF8.GetBytes(answer), _cts.Token);
                            await s.FlushAsync(_cts.Token);
                        }
                        if (s is System.Net.Security.SslStream sslStream) await sslStream.ShutdownAsync();
                        client.Client.Shutdown(SocketShutdown.Send);
                        await Task.Delay(50);
                    }
                    catch { }
                });
            }
        });
    }

    public static string Http(int status, string body, string reason = "OK", string extraHeaders = "") =>
        $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n{extraHeaders}\r\n{body}";

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        try { await _loop; } catch { }
    }
}

internal static class ClosedPort
{
    /// <summary>A loopback port nobody listens on (bound then released).</summary>
    public static int Get()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }
}

internal static class ScriptPlugin
{
    /// <summary>Writes an executable /bin/sh plugin into a temp directory and returns its path.</summary>
    public static string Write(string body)
    {
        var dir = Path.Combine(Path.GetTempPath(), "observe-checks-tests");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"plugin_{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
