using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Observe.Checks.Plugins;

namespace Observe.Checks.Kinds;

/// <summary>
/// Native TCP check, worded like check_tcp: connect, optionally send a string and expect a substring in the reply
/// (WARNING when it is not there, as check_tcp's default), connect/response time thresholds as Nagios ranges.
/// </summary>
internal sealed class TcpCheck(string host, int port, string? send, string? expect, Thresholds time, TimeSpan timeout, CheckState timeoutState) : ICheck
{
    public async Task<CheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient();
            client.NoDelay = true;
            await client.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
            string? reply = null;
            if (send != null || expect != null)
            {
                var stream = client.GetStream();
                if (send != null) await stream.WriteAsync(Encoding.UTF8.GetBytes(send), cts.Token).ConfigureAwait(false);
                if (expect != null)
                {
                    var sb = new StringBuilder();
                    var buf = new byte[4096];
                    int n;
                    while (!sb.ToString().Contains(expect, StringComparison.Ordinal) && sb.Length < 65536
                           && (n = await stream.ReadAsync(buf, cts.Token).ConfigureAwait(false)) > 0)
                        sb.Append(Encoding.UTF8.GetString(buf, 0, n));
                    reply = sb.ToString();
                }
            }
            var secs = sw.Elapsed.TotalSeconds;
            var perf = new List<PerfDatum> { new("time", Math.Round(secs, 6), "s", null, null, 0, timeout.TotalSeconds) };
            var t = secs.ToString("0.000", CultureInfo.InvariantCulture);
            if (expect != null && !reply!.Contains(expect, StringComparison.Ordinal))
            {
                var shown = reply.Split('\n')[0].Trim();
                return new CheckResult(CheckState.Warning, $"TCP WARNING - Unexpected response from host/socket: {(shown.Length > 100 ? shown[..100] : shown)}", null, perf, sw.Elapsed);
            }
            var s = time.Evaluate(secs);
            return new CheckResult(s, $"TCP {s.Upper()} - {t} second response time on {host} port {port}", null, perf, sw.Elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new CheckResult(timeoutState, $"TCP {timeoutState.Upper()} - Socket timeout after {timeout.TotalSeconds:0.##} seconds", null, [], sw.Elapsed);
        }
        catch (SocketException e)
        {
            return new CheckResult(CheckState.Critical, $"TCP CRITICAL - {e.Message} ({host}:{port})", null, [], sw.Elapsed);
        }
        catch (IOException e)
        {
            return new CheckResult(CheckState.Critical, $"TCP CRITICAL - {e.Message} ({host}:{port})", null, [], sw.Elapsed);
        }
    }
}
