using Observe.Common;

namespace Observe.Collector;

/// <summary><c>collector.beacons:</c> Boomerang page-load beacons on their own listener (docs/configuration.md#collectorbeacons).</summary>
public sealed class BeaconOptions
{
    public bool Enabled { get; set; }
    /// <summary>Its own port: browsers send without credentials, so nothing else of Observe is reachable there.</summary>
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 8091;
    /// <summary>Origins (<c>https://shop.example</c>) whose pages may send; a beacon naming another origin is refused (counted). Empty = any.</summary>
    public List<string> AllowedOrigins { get; set; } = [];
    /// <summary>Page groups by URL when the beacon has no <c>h.pg</c>: the first rule whose regex matches the page URL names it.</summary>
    public List<BeaconPageGroupRule> PageGroups { get; set; } = [];
    /// <summary>StatsD key prefix: timers <c>stats.timers.&lt;prefix&gt;.&lt;group&gt;.&lt;timing&gt;</c>.</summary>
    public string Prefix { get; set; } = "beacons";
    /// <summary>Largest request (query string or form body); larger → 413 (counted).</summary>
    public int MaxRequestBytes { get; set; } = 16 * 1024;
    /// <summary>Beacons accepted per second from all browsers together; more → 429 (counted).</summary>
    public int MaxPerSecond { get; set; } = 1000;
    /// <summary>Connections open at once on the beacon port; more wait in the backlog.</summary>
    public int MaxConnections { get; set; } = 1000;
    /// <summary>Time a client has to send its headers and body; slower ones are cut off.</summary>
    public int RequestTimeoutMs { get; set; } = 5000;
    /// <summary>A timing above this (ms) is absurd (a tab left in the background, a broken clock): dropped, counted.</summary>
    public double MaxTimingMs { get; set; } = 300_000;
    /// <summary>Distinct page groups; beacons of further groups are aggregated as <c>other</c>.</summary>
    public int MaxPageGroups { get; set; } = 200;

    public IEnumerable<ConfigProblem> Validate(string at = "collector.beacons")
    {
        if (!System.Net.IPAddress.TryParse(Address, out _)) yield return new($"{at}.address", $"'{Address}' is not an IP address");
        if (Port is < 0 or > 65535) yield return new($"{at}.port", $"port {Port} is outside 0–65535");
        for (var i = 0; i < AllowedOrigins.Count; i++)
            if (!Uri.TryCreate(AllowedOrigins[i], UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.PathAndQuery != "/" || AllowedOrigins[i].EndsWith('/'))
                yield return new($"{at}.allowedOrigins[{i}]", $"'{AllowedOrigins[i]}' is not an origin (scheme://host[:port], no path)");
        for (var i = 0; i < PageGroups.Count; i++)
        {
            if (!LogMetricsOptions.TryRegex(PageGroups[i].Url, 100, out var error)) yield return new($"{at}.pageGroups[{i}].url", error!);
            if (!Beacons.BeaconParser.IsNode(PageGroups[i].Group)) yield return new($"{at}.pageGroups[{i}].group", $"'{PageGroups[i].Group}' is not one path node (letters, digits, _ and -)");
        }
        if (string.IsNullOrEmpty(Prefix) || !Prefix.Split('.').All(Beacons.BeaconParser.IsNode)) yield return new($"{at}.prefix", $"'{Prefix}' is not a Graphite path");
        if (MaxRequestBytes is < 1024 or > 1 << 20) yield return new($"{at}.maxRequestBytes", "must be 1024 to 1048576");
        if (MaxPerSecond < 1) yield return new($"{at}.maxPerSecond", "must be at least 1");
        if (MaxConnections < 1) yield return new($"{at}.maxConnections", "must be at least 1");
        if (RequestTimeoutMs is < 100 or > 60_000) yield return new($"{at}.requestTimeoutMs", "must be 100 to 60000");
        if (!(MaxTimingMs > 0) || !double.IsFinite(MaxTimingMs)) yield return new($"{at}.maxTimingMs", "must be more than 0");
        if (MaxPageGroups < 1) yield return new($"{at}.maxPageGroups", "must be at least 1");
    }
}

/// <summary>A page group for URLs matching <see cref="Url"/> (a regex, matched without backtracking).</summary>
public sealed class BeaconPageGroupRule
{
    public string Url { get; set; } = "";
    public string Group { get; set; } = "";
}
