using System.Globalization;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Reads the kernel's per-socket UDP drop counters (last column of /proc/net/udp and /proc/net/udp6)
/// for sockets bound to a port: datagrams lost because our receive buffers were full.
/// </summary>
internal static class UdpDropCounter
{
    public static long Read(int port)
    {
        long drops = 0;
        foreach (var file in new[] { "/proc/net/udp", "/proc/net/udp6" })
        {
            if (!File.Exists(file)) continue;
            try
            {
                foreach (var line in File.ReadLines(file).Skip(1))
                    drops += ParseLine(line, port);
            }
            catch (IOException) { }
        }
        return drops;
    }

    internal static long ParseLine(string line, int port)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13) return 0;
        var local = fields[1];
        var colon = local.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(local.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var p) || p != port) return 0;
        return long.TryParse(fields[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : 0;
    }
}
