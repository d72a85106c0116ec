using System.Diagnostics;

namespace Observe.TestSupport;

/// <summary>
/// A throwaway PostgreSQL 15 cluster (Debian postgresql-15) on a free loopback port: initdb and the server run as the
/// postgres user (initdb refuses root) on a directory it owns; stopped by PID on dispose.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly PeerProcess _process;
    public int Port { get; }
    public string Dir { get; }
    /// <summary>Trust authentication on loopback (initdb's default for a throwaway cluster).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true";

    private PostgresServer(PeerProcess process, int port, string dir) { _process = process; Port = port; Dir = dir; }

    public static bool IsInstalled => File.Exists(Path.Combine(Bin, "postgres"));

    public static async Task<PostgresServer> StartAsync()
    {
        var dir = Repo.TempDir("postgres");
        var data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        await RunAsync("chown", ["-R", "postgres:postgres", dir]);
        await RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(Bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        var port = FreePort.Get();
        // The server in the foreground (not pg_ctl) so that PeerProcess holds its PID; fsync off: a test cluster.
        var process = PeerProcess.Start("runuser", ["-u", "postgres", "--", Path.Combine(Bin, "postgres"), "-D", data, "-p", port.ToString(),
            "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"], dir, Path.Combine(dir, "postgres.log"));
        var server = new PostgresServer(process, port, dir);
        try
        {
            await Poll.UntilAsync(async () => await TryRunAsync(Path.Combine(Bin, "pg_isready"), ["-h", "127.0.0.1", "-p", port.ToString(), "-q"]) == 0,
                TimeSpan.FromSeconds(30), "postgres ready");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    public string Log() => _process.Log();

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static async Task RunAsync(string file, string[] args)
    {
        var code = await TryRunAsync(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}");
    }

    private static async Task<int> TryRunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        return p.ExitCode;
    }
}
