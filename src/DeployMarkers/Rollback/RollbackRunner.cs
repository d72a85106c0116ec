using System.ComponentModel;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;

namespace Observe.DeployMarkers.Rollback;

/// <summary>What a rollback is told: which deploy is bad and which version was good before it.</summary>
internal sealed record RollbackRequest(string DeployId, string Service, string Env, string BadVersion, string? GoodVersion, string Reason);

/// <summary>Runs a service's rollback action; never throws for a failed action (the record says what happened).</summary>
internal interface IRollbackRunner
{
    Task<RollbackRecord> RunAsync(RollbackOptions action, RollbackRequest request, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// A command (argv, no shell; values only through environment variables, so nothing in a version string is ever
/// interpreted) in its own session so a timeout kills its children too; or a JSON webhook.
/// </summary>
internal sealed class RollbackRunner(TimeProvider time, HttpClient? http = null) : IRollbackRunner
{
    private const int MaxOutput = 16 * 1024;
    private readonly HttpClient _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };

    public async Task<RollbackRecord> RunAsync(RollbackOptions action, RollbackRequest req, TimeSpan timeout, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        try
        {
            return action.Command.Count > 0 ? await RunCommandAsync(action, req, timeout, started, ct).ConfigureAwait(false)
                : await CallWebhookAsync(action, req, timeout, started, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return new RollbackRecord(action.Command.Count > 0 ? "command" : "webhook", req.GoodVersion, started, time.GetUtcNow(), false, null, null,
                e is OperationCanceledException, "", e is OperationCanceledException ? $"timed out after {timeout.TotalSeconds:0.#} s" : e.Message);
        }
    }

    /// <summary>The environment a rollback command gets (documented in docs/configuration.md).</summary>
    internal static Dictionary<string, string> Environment(RollbackRequest r) => new()
    {
        ["OBSERVE_SERVICE"] = r.Service,
        ["OBSERVE_ENV"] = r.Env,
        ["OBSERVE_BAD_VERSION"] = r.BadVersion,
        ["OBSERVE_GOOD_VERSION"] = r.GoodVersion ?? "",
        // `observe deploy` run by the command marks its markers as this rollback's, so they are never rolled back.
        ["OBSERVE_ROLLBACK_OF"] = r.DeployId,
        ["OBSERVE_ROLLBACK_REASON"] = r.Reason,
    };

    private async Task<RollbackRecord> RunCommandAsync(RollbackOptions action, RollbackRequest req, TimeSpan timeout, DateTimeOffset started, CancellationToken ct)
    {
        var setsid = !OperatingSystem.IsWindows() && File.Exists("/usr/bin/setsid");
        var psi = new ProcessStartInfo(setsid ? "/usr/bin/setsid" : action.Command[0])
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var a in setsid ? action.Command : action.Command.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in action.Environment) psi.Environment[k] = v;
        foreach (var (k, v) in Environment(req)) psi.Environment[k] = v;
        using var p = new Process { StartInfo = psi };
        try { p.Start(); }
        catch (Win32Exception e)
        {
            return new RollbackRecord("command", req.GoodVersion, started, time.GetUtcNow(), false, null, null, false, "", $"could not run {action.Command[0]}: {e.Message}");
        }
        p.StandardInput.Close();
        var output = new StringBuilder();
        var readers = Task.WhenAll(Pump(p.StandardOutput, output), Pump(p.StandardError, output));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        var timedOut = false;
        try { await p.WaitForExitAsync(limit.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            timedOut = true;
            KillSession(p, setsid);
            await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        // A child that kept the pipes open must not hold the record back.
        await Task.WhenAny(readers, Task.Delay(2000, CancellationToken.None)).ConfigureAwait(false);
        string text;
        lock (output) text = output.ToString();
        var code = p.ExitCode;
        return new RollbackRecord("command", req.GoodVersion, started, time.GetUtcNow(), !timedOut && code == 0, code, null, timedOut, text,
            timedOut ? $"timed out after {timeout.TotalSeconds:0.#} s" : code == 0 ? null : $"exit code {code}");
    }

    private static async Task Pump(StreamReader reader, StringBuilder into)
    {
        var buf = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buf).ConfigureAwait(false)) > 0)
            lock (into) if (into.Length < MaxOutput) into.Append(buf, 0, Math.Min(n, MaxOutput - into.Length));
    }

    private async Task<RollbackRecord> CallWebhookAsync(RollbackOptions action, RollbackRequest req, TimeSpan timeout, DateTimeOffset started, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        using var msg = new HttpRequestMessage(HttpMethod.Post, action.Webhook)
        {
            Content = JsonContent.Create(new { deployId = req.DeployId, service = req.Service, env = req.Env, badVersion = req.BadVersion, goodVersion = req.GoodVersion, reason = req.Reason }),
        };
        foreach (var (k, v) in action.Headers) msg.Headers.TryAddWithoutValidation(k, v);
        using var resp = await _http.SendAsync(msg, limit.Token).ConfigureAwait(false);
        var body = await resp.Content.ReadAsStringAsync(limit.Token).ConfigureAwait(false);
        if (body.Length > MaxOutput) body = body[..MaxOutput];
        var ok = resp.IsSuccessStatusCode;
        return new RollbackRecord("webhook", req.GoodVersion, started, time.GetUtcNow(), ok, null, (int)resp.StatusCode, false, body, ok ? null : $"HTTP {(int)resp.StatusCode}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    private static void KillSession(Process p, bool ownSession)
    {
        // setsid made the command a session and group leader: signal the group (kill(2), never /usr/bin/kill).
        if (ownSession && p.Id > 1) { try { SysKill(-p.Id, 9); } catch (DllNotFoundException) { } catch (EntryPointNotFoundException) { } }
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }
}
