using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Observe.Checks.Plugins;

namespace Observe.Checks.Kinds;

/// <summary>
/// Native HTTP check, worded like check_http: by default 2xx/3xx are OK, 4xx WARNING, 5xx CRITICAL; an expected
/// status set replaces that (anything else CRITICAL); body substring / regex (CRITICAL when missing); response-time
/// thresholds as Nagios ranges in seconds; redirects followed only when asked. Perfdata: time (s) and size (B).
/// </summary>
internal sealed class HttpCheck(Uri url, string method, IReadOnlyDictionary<string, string> headers, string? body,
    IReadOnlySet<int> expectStatus, string? expectBody, Regex? expectBodyRegex, bool followRedirects, Thresholds time,
    TimeSpan timeout, CheckState timeoutState, TlsCheckOptions? tls = null) : ICheck
{
    private readonly TlsCheckOptions _tls = tls ?? TlsCheckOptions.Default;
    private DateTime? _notAfter;
    private string? _subject;
    private HttpClient? _own;

    /// <summary>Its own client when TLS is not the default (no verification, or certificate expiry to watch): it sees each handshake's certificate.</summary>
    private HttpClient Client()
    {
        if (_tls == TlsCheckOptions.Default) return followRedirects ? Redirects : NoRedirects;
        return _own ??= new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = followRedirects, UseCookies = false, PooledConnectionLifetime = TimeSpan.Zero,
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                {
                    if (cert is System.Security.Cryptography.X509Certificates.X509Certificate2 c2) { _notAfter = c2.NotAfter.ToUniversalTime(); _subject = c2.Subject; }
                    return !_tls.Verify || errors == System.Net.Security.SslPolicyErrors.None;
                },
            },
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static readonly HttpClient NoRedirects = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2), UseCookies = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private static readonly HttpClient Redirects = new(new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 15, PooledConnectionLifetime = TimeSpan.FromMinutes(2), UseCookies = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private const int MaxBody = 1 << 20;

    public async Task<CheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var req = new HttpRequestMessage(new HttpMethod(method), url);
            foreach (var (k, v) in headers)
                if (!req.Headers.TryAddWithoutValidation(k, v)) { req.Content ??= new ByteArrayContent([]); req.Content.Headers.TryAddWithoutValidation(k, v); }
            if (body != null) req.Content = new StringContent(body, Encoding.UTF8);
            if (_tls.DaysWarning > 0 || _tls.DaysCritical > 0) req.Headers.ConnectionClose = true; // a fresh handshake, so a fresh certificate
            _notAfter = null;
            using var resp = await Client().SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            var bytes = await ReadCappedAsync(await resp.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false), cts.Token).ConfigureAwait(false);
            var elapsed = sw.Elapsed;
            var secs = elapsed.TotalSeconds;
            var code = (int)resp.StatusCode;
            var statusLine = $"HTTP/{resp.Version.Major}.{resp.Version.Minor} {code} {resp.ReasonPhrase}".TrimEnd();
            var perf = new List<PerfDatum>
            {
                new("time", Math.Round(secs, 6), "s", Fmt(time.Warning), Fmt(time.Critical), 0, null),
                new("size", bytes.Length, "B", null, null, 0, null),
            };
            var suffix = $"{bytes.Length} bytes in {secs.ToString("0.000", CultureInfo.InvariantCulture)} second response time";
            CheckResult R(CheckState s, string detail) =>
                new(s, $"HTTP {s.Upper()}: {statusLine} - {(detail.Length > 0 ? detail + " - " : "")}{suffix}", null, perf, elapsed);

            CheckState byStatus;
            if (expectStatus.Count > 0) byStatus = expectStatus.Contains(code) ? CheckState.Ok : CheckState.Critical;
            else byStatus = code >= 500 ? CheckState.Critical : code >= 400 ? CheckState.Warning : CheckState.Ok;
            if (byStatus != CheckState.Ok)
                return R(byStatus, expectStatus.Count > 0 ? $"status {code} not in expected {string.Join(",", expectStatus.Order())}" : "");
            var text = Encoding.UTF8.GetString(bytes);
            if (expectBody != null && !text.Contains(expectBody, StringComparison.Ordinal))
                return R(CheckState.Critical, $"string '{expectBody}' not found on '{url}'");
            if (expectBodyRegex != null && !expectBodyRegex.IsMatch(text))
                return R(CheckState.Critical, $"pattern not found");
            if (url.Scheme == "https" && (_tls.DaysWarning > 0 || _tls.DaysCritical > 0) && _notAfter is { } notAfter)
            {
                var days = (notAfter - DateTime.UtcNow).TotalDays;
                var byCert = days < _tls.DaysCritical ? CheckState.Critical : days < _tls.DaysWarning ? CheckState.Warning : CheckState.Ok;
                if (byCert != CheckState.Ok)
                    return R(byCert, $"certificate '{_subject}' expires in {Math.Floor(days).ToString(CultureInfo.InvariantCulture)} days ({notAfter:yyyy-MM-dd HH:mm} UTC)");
            }
            var byTime = time.Evaluate(secs);
            return R(byTime, byTime == CheckState.Ok ? "" : "response time over threshold");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new CheckResult(timeoutState, $"HTTP {timeoutState.Upper()} - Socket timeout after {timeout.TotalSeconds:0.##} seconds", null, [], sw.Elapsed);
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is SocketException se ? $"{se.SocketErrorCode}: {se.Message}" : e.Message;
            return new CheckResult(CheckState.Critical, $"HTTP CRITICAL - Unable to open TCP socket to {url.Authority} ({reason})", null, [], sw.Elapsed);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or NotSupportedException)
        {
            return new CheckResult(CheckState.Critical, $"HTTP CRITICAL - {e.GetType().Name}: {e.Message}", null, [], sw.Elapsed);
        }
    }

    private static string? Fmt(NagiosRange? r) => r is { } x && !x.AlertInside && x.Start == 0 && double.IsFinite(x.End)
        ? x.End.ToString(CultureInfo.InvariantCulture) : null;

    private static async Task<byte[]> ReadCappedAsync(Stream s, CancellationToken ct)
    {
        var ms = new MemoryStream();
        var buf = new byte[16384];
        int n;
        while ((n = await s.ReadAsync(buf, ct).ConfigureAwait(false)) > 0 && ms.Length < MaxBody) ms.Write(buf, 0, n);
        return ms.ToArray();
    }
}

/// <summary>TLS for http checks: verify the certificate (default), and warn/critical when it expires within so many days (0 = off), as check_http -C.</summary>
internal sealed record TlsCheckOptions(bool Verify, int DaysWarning, int DaysCritical)
{
    public static readonly TlsCheckOptions Default = new(true, 0, 0);
}
