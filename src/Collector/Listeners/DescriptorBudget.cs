using Microsoft.Extensions.Logging;

namespace Observe.Collector.Listeners;

/// <summary>
/// Fits each TCP listener's connection cap to the process's descriptor limit. Out of descriptors the .NET runtime itself
/// can fail ("Out of memory." and exit, seen at 400 descriptors), HTTP stops answering and assemblies fail to load, so
/// the caps of the four TCP listeners (StatsD, Graphite plaintext and pickle, GELF) together leave <see cref="Reserve"/> descriptors for
/// everything else: the runtime and stores (~300 at rest), HTTP clients, notifier and sink connections, plugin pipes.
/// </summary>
internal static class DescriptorBudget
{
    internal const int Reserve = 1024;
    private const int TcpListeners = 4;
    private const int MinimumCap = 8;

    /// <summary><paramref name="configured"/>, or less when the descriptor limit cannot hold it (said once, as a warning).</summary>
    public static int Fit(int configured, string name, ILogger log, long? limit = null)
    {
        limit ??= OpenFilesLimit();
        if (limit is not { } l) return configured;
        var share = (int)Math.Max(MinimumCap, Math.Min(int.MaxValue, (l - Reserve) / TcpListeners));
        if (configured <= share) return configured;
        log.LogWarning("{Name}: at most {Cap} connections instead of the configured {Configured}: the process may open {Limit} descriptors " +
                       "and {Reserve} stay free for the rest (raise LimitNOFILE / ulimit -n)", name, share, configured, l, Reserve);
        return share;
    }

    /// <summary>The soft RLIMIT_NOFILE from /proc/self/limits (Linux); null when unknown or unlimited.</summary>
    internal static long? OpenFilesLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                    return long.TryParse(line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], out var soft) ? soft : null;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
