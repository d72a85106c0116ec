using System.Diagnostics;

namespace Observe.TestSupport;

/// <summary>
/// A real server started for a test: its own process group, output to a log file, stopped by PID
/// (SIGTERM, then SIGKILL after a grace period).
/// </summary>
public sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    public string LogPath { get; }
    public int Pid => _process.Id;

    private PeerProcess(Process process, string logPath) { _process = process; LogPath = logPath; }

    public static PeerProcess Start(string fileName, IEnumerable<string> args, string workDir, string logPath,
        IDictionary<string, string>? env = null)
    {
        Directory.CreateDirectory(workDir);
        var psi = new ProcessStartInfo("setsid") { WorkingDirectory = workDir, UseShellExecute = false };
        // setsid gives the peer its own process group so that stopping it stops its children too.
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$OBSERVE_PEER_LOG\" 2>&1");
        psi.ArgumentList.Add(fileName);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OBSERVE_PEER_LOG"] = logPath;
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        return new PeerProcess(p, logPath);
    }

    /// <summary>
    /// Runs a command (not a server) to its end and returns its exit code and output. <paramref name="env"/> entries with
    /// a null value are removed from the environment (e.g. USER).
    /// </summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunToEndAsync(string fileName, IEnumerable<string> args,
        IDictionary<string, string?>? env = null, string? workDir = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workDir != null) psi.WorkingDirectory = workDir;
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null)
            foreach (var (k, v) in env)
                if (v == null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException($"{fileName} {string.Join(' ', psi.ArgumentList)} did not end"); }
        return (p.ExitCode, await stdout, await stderr);
    }

    private bool _disposed, _exitConfirmed;

    /// <summary>True once the process has ended; after <see cref="DisposeAsync"/>, whether it was seen to end.</summary>
    public bool HasExited => _disposed ? _exitConfirmed : _process.HasExited;

    public string Log() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    /// <summary>Sends SIGTERM (via kill(2)) and waits up to <paramref name="timeout"/> for the process to end by itself.</summary>
    public async Task<bool> TerminateAsync(TimeSpan timeout)
    {
        if (_process.HasExited) return true;
        Signal(15);
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>The exit code once the process has ended.</summary>
    public int ExitCode => _process.ExitCode;

    public void Kill9()
    {
        if (_process.HasExited) return;
        Signal(9);
        _process.WaitForExit(10_000);
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. 1 = SIGHUP) to the peer's process group.</summary>
    public void SendSignal(int signal)
    {
        if (!_process.HasExited) Signal(signal);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_process.HasExited) { _exitConfirmed = true; _process.Dispose(); return; }
        Signal(15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { Signal(9); _process.WaitForExit(5000); }
        _exitConfirmed = _process.HasExited;
        _process.Dispose();
    }

    private void Signal(int sig)
    {
        // Negative PID: the whole process group made by setsid. Not via /usr/bin/kill: procps-ng 4.0.2
        // (Debian 12) turns `kill -15 -1503` into kill(-1, SIGTERM) for 4+ digit PIDs, signalling every
        // process we may signal (it killed the test runner's shell here). Call kill(2) directly.
        if (_process.Id > 1) SysKill(-_process.Id, sig);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);
}
