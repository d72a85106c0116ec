using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Observe.Checks.Plugins;

namespace Observe.Checks.Kinds;

/// <summary>
/// Runs a Nagios plugin by argv (no shell). The plugin runs in its own session (via setsid, which execs in
/// place) so that a timeout kills its whole process group. Exit 0–3 are the states; anything else is UNKNOWN
/// with the reason, as Nagios 4 words it. Stdout is capped at <c>maxOutputBytes</c> (the rest is drained and
/// dropped); stderr is ignored unless stdout is empty.
/// </summary>
internal sealed class CommandCheck(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout,
    CheckState timeoutState, int maxOutputBytes = 65536) : ICheck
{
    private const string Setsid = "/usr/bin/setsid";

    public async Task<CheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        if (argv.Count == 0) return CheckResult.Unknown("(no command configured)");
        var exe = ResolveExecutable(argv[0]);
        if (exe == null) return CheckResult.Unknown($"(plugin not found: {argv[0]})");
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(exe) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            return CheckResult.Unknown($"(plugin is not executable: {exe})");

        var useSetsid = !OperatingSystem.IsWindows() && File.Exists(Setsid);
        var psi = new ProcessStartInfo(useSetsid ? Setsid : exe)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            CreateNoWindow = true,
        };
        if (useSetsid) psi.ArgumentList.Add(exe);
        for (var i = 1; i < argv.Count; i++) psi.ArgumentList.Add(argv[i]);
        if (environment != null) foreach (var (k, v) in environment) psi.Environment[k] = v;

        using var process = new Process { StartInfo = psi };
        try { process.Start(); }
        catch (Win32Exception e) { return CheckResult.Unknown($"(could not run {exe}: {e.Message})", sw.Elapsed); }
        try { process.StandardInput.Close(); } catch (IOException) { }
        var pid = process.Id;
        var stdout = ReadCappedAsync(process.StandardOutput.BaseStream, maxOutputBytes);
        var stderr = ReadCappedAsync(process.StandardError.BaseStream, 4096);

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        var timedOut = false;
        try { await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            timedOut = true;
            KillGroup(process, pid, useSetsid);
        }
        // Leftover children (still holding the pipes) must not keep us reading forever.
        var drained = Task.WhenAll(stdout, stderr);
        if (await Task.WhenAny(drained, Task.Delay(timedOut ? 2000 : 1000, CancellationToken.None)).ConfigureAwait(false) != drained)
        {
            KillGroup(process, pid, useSetsid);
            await Task.WhenAny(drained, Task.Delay(2000, CancellationToken.None)).ConfigureAwait(false);
        }
        var elapsed = sw.Elapsed;
        if (timedOut)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new CheckResult(timeoutState, $"(Service check timed out after {timeout.TotalSeconds:0.##} seconds)", null, [], elapsed);
        }

        var outText = stdout.IsCompletedSuccessfully ? stdout.Result : "";
        var errText = stderr.IsCompletedSuccessfully ? stderr.Result : "";
        var code = process.ExitCode;
        if (code is < 0 or > 3)
        {
            var hint = code == 126 ? " Make sure the plugin you're trying to run is executable."
                : code == 127 ? " Make sure the plugin you're trying to run actually exists." : "";
            var first = FirstLine(outText.Length > 0 ? outText : errText);
            return CheckResult.Unknown($"(Return code of {code} is out of bounds.{hint})" + (first.Length > 0 ? " " + first : ""), elapsed);
        }
        if (outText.Trim().Length == 0)
        {
            var first = FirstLine(errText);
            return new CheckResult((CheckState)code, "(No output returned from plugin)" + (first.Length > 0 ? " stderr: " + first : ""), null, [], elapsed);
        }
        var parsed = PluginOutput.Parse(outText);
        return new CheckResult((CheckState)code, parsed.Text, parsed.LongOutput, parsed.PerfData, elapsed);
    }

    private static string FirstLine(string s) { var l = s.Split('\n')[0].Trim(); return l.Length > 200 ? l[..200] : l; }

    internal static string? ResolveExecutable(string name)
    {
        if (name.Contains('/')) return File.Exists(name) ? Path.GetFullPath(name) : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static async Task<string> ReadCappedAsync(Stream s, int cap)
    {
        var kept = new MemoryStream();
        var buf = new byte[8192];
        int n;
        while ((n = await s.ReadAsync(buf).ConfigureAwait(false)) > 0)
        {
            var room = cap - (int)kept.Length;
            if (room > 0) kept.Write(buf, 0, Math.Min(room, n));
        }
        return Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    private static void KillGroup(Process process, int pid, bool ownGroup)
    {
        if (ownGroup && !OperatingSystem.IsWindows()) { try { SysKill(-pid, 9); } catch (DllNotFoundException) { } catch (EntryPointNotFoundException) { } }
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (Win32Exception) { }
    }
}
