using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Observe.Storage;

namespace Observe.Host.Config;

/// <summary>Checks values that bind fine but cannot work (ports, addresses, intervals, retentions, patterns).</summary>
internal static class ConfigValidator
{
    public static void Validate(ObserveConfig c, string source, List<ConfigProblem> problems, IReadOnlyDictionary<string, (int Line, int Column)>? positions)
    {
        void Fail(string key, string message)
        {
            var (line, col) = positions != null && positions.TryGetValue(key, out var p) ? p : (0, 0);
            problems.Add(new ConfigProblem(source, line, col, key, message));
        }
        void Port(string key, int port) { if (port is < 0 or > 65535) Fail(key, $"port {port} is outside 0–65535"); }
        void Address(string key, string a) { if (!IPAddress.TryParse(a, out _)) Fail(key, $"'{a}' is not an IP address"); }

        Address("http.address", c.Http.Address); Port("http.port", c.Http.Port);
        var s = c.Collector.Statsd;
        Address("collector.statsd.address", s.Address); Port("collector.statsd.port", s.Port);
        if (s.FlushInterval < 100) Fail("collector.statsd.flushInterval", $"{s.FlushInterval} ms is too short (at least 100)");
        if (s.UdpSockets is < 0 or > 256) Fail("collector.statsd.udpSockets", "must be 0 (one per core) to 256");
        if (s.MaxActiveKeys < 1) Fail("collector.statsd.maxActiveKeys", "must be at least 1");
        if (s.MaxLineBytes is < 64 or > 65536) Fail("collector.statsd.maxLineBytes", "must be 64 to 65536");
        if (s.GaugesMaxTTL < 1) Fail("collector.statsd.gaugesMaxTTL", "must be at least 1");
        for (var i = 0; i < s.PercentThreshold.Count; i++)
        {
            var pct = s.PercentThreshold[i];
            if (pct == 0 || pct is > 100 or < -100 || !double.IsFinite(pct)) Fail($"collector.statsd.percentThreshold[{i}]", $"{pct} is not a percentile (non-zero, -100..100)");
        }
        for (var i = 0; i < s.Histogram.Count; i++)
        {
            var h = s.Histogram[i];
            for (var j = 0; j < h.Bins.Count; j++)
                if (h.Bins[j] != "inf" && !double.TryParse(h.Bins[j], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    Fail($"collector.statsd.histogram[{i}].bins[{j}]", $"'{h.Bins[j]}' is neither a number nor 'inf'");
        }
        var g = c.Collector.Graphite;
        Address("collector.graphite.address", g.Address); Port("collector.graphite.port", g.Port);
        Port("sinks.carbon.port", c.Sinks.Carbon.Port);
        if (c.Sinks.Carbon.Enabled && string.IsNullOrWhiteSpace(c.Sinks.Carbon.Host)) Fail("sinks.carbon.host", "required when the carbon sink is enabled");
        if (string.IsNullOrWhiteSpace(c.Storage.DataDir)) Fail("storage.dataDir", "must not be empty");
        for (var i = 0; i < c.Storage.Schemas.Count; i++)
        {
            var r = c.Storage.Schemas[i];
            Regex($"storage.schemas[{i}].pattern", r.Pattern);
            if (RetentionText.Check(r.Retentions) is { } err) Fail($"storage.schemas[{i}].retentions", err);
        }
        for (var i = 0; i < c.Storage.Aggregation.Count; i++)
        {
            var r = c.Storage.Aggregation[i];
            Regex($"storage.aggregation[{i}].pattern", r.Pattern);
            if (r.XFilesFactor is < 0 or > 1) Fail($"storage.aggregation[{i}].xFilesFactor", "must be between 0 and 1");
            if (r.AggregationMethod is not ("average" or "sum" or "min" or "max" or "last"))
                Fail($"storage.aggregation[{i}].aggregationMethod", $"'{r.AggregationMethod}' is not one of average, sum, min, max, last");
        }
        foreach (var p in Observe.Checks.ChecksConfig.Validate(c.Checks)) Fail(p.KeyPath, p.Message);
        if (c.Logging.Level.ToLowerInvariant() is not ("verbose" or "debug" or "information" or "warning" or "error" or "fatal"))
            Fail("logging.level", $"'{c.Logging.Level}' is not one of verbose, debug, information, warning, error, fatal");

        void Regex(string key, string pattern)
        {
            try { _ = new Regex(pattern); }
            catch (ArgumentException e) { Fail(key, $"invalid regular expression: {e.Message}"); }
        }
    }
}

/// <summary>Graphite retention text (<c>10s:6h,1m:7d</c>): units s, m/min, h, d, w, y; finer archives first; each coarser precision a multiple of the finer.</summary>
internal static class RetentionText
{
    public static string? Check(string text)
    {
        long previous = 0;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var pieces = part.Split(':');
            if (pieces.Length != 2) return $"'{part}' is not precision:retention";
            var precision = Seconds(pieces[0]);
            var retention = Seconds(pieces[1]);
            if (precision is null or <= 0) return $"'{pieces[0]}' is not a precision like 10s or 1m";
            if (retention is null or <= 0) return $"'{pieces[1]}' is not a retention like 6h or 7d";
            if (retention < precision) return $"retention {pieces[1]} is shorter than precision {pieces[0]}";
            if (previous > 0 && (precision <= previous || precision % previous != 0)) return $"precision {pieces[0]} must be a coarser multiple of the previous archive's";
            previous = precision.Value;
        }
        return previous == 0 ? "no archives" : null;
    }

    private static long? Seconds(string s)
    {
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        if (i == 0 || !long.TryParse(s.AsSpan(0, i), out var n)) return null;
        var unit = s[i..].ToLowerInvariant();
        // A bare number is a count of points when it is the retention (whisper's rule); treat it as seconds here for the sanity check.
        long mult = unit switch
        {
            "" or "s" or "sec" or "second" or "seconds" => 1,
            "m" or "min" or "minute" or "minutes" => 60,
            "h" or "hour" or "hours" => 3600,
            "d" or "day" or "days" => 86400,
            "w" or "week" or "weeks" => 604800,
            "y" or "year" or "years" => 31536000,
            _ => -1,
        };
        return mult < 0 ? null : n * mult;
    }
}
