using System.Globalization;
using System.Net;

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
        ValidateStatusPage(c, Fail);
        Observe.Host.Tls.HttpsCertificate.Validate(c.Http.Tls, Fail);
        if (c.Http.MaxRequestBodyBytes is < 1024 or > int.MaxValue) Fail("http.maxRequestBodyBytes", "must be 1024 to 2147483647");
        if (c.Http.MaxConnections < 1) Fail("http.maxConnections", "must be at least 1");
        if (MemoryGovernor.ParseBudget(c.Limits.Memory, 1L << 30) == null) Fail("limits.memory", $"'{c.Limits.Memory}' is not auto, off, a size (512MB, 2GB) or a share (50%)");
        var s = c.Collector.Statsd;
        Address("collector.statsd.address", s.Address); Port("collector.statsd.port", s.Port);
        if (s.FlushInterval < 100) Fail("collector.statsd.flushInterval", $"{s.FlushInterval} ms is too short (at least 100)");
        if (s.UdpSockets is < 0 or > 256) Fail("collector.statsd.udpSockets", "must be 0 (one per core) to 256");
        if (s.MaxActiveKeys < 1) Fail("collector.statsd.maxActiveKeys", "must be at least 1");
        if (s.MaxLineBytes is < 64 or > 65536) Fail("collector.statsd.maxLineBytes", "must be 64 to 65536");
        if (s.MaxTags < 0) Fail("collector.statsd.maxTags", "must be 0 (no tags) or more");
        if (s.MaxTagLength < 1) Fail("collector.statsd.maxTagLength", "must be at least 1");
        for (var i = 0; i < s.Events.Sources.Count; i++)
            if (!Observe.Collector.CollectorHosting.IsEventSource(s.Events.Sources[i]))
                Fail($"collector.statsd.events.sources[{i}]", $"'{s.Events.Sources[i]}' is neither an IP address nor a network (10.0.0.0/8)");
        if (s.TcpMaxConnections < 1) Fail("collector.statsd.tcpMaxConnections", "must be at least 1");
        if (s.TcpIdleTimeoutMs < 0) Fail("collector.statsd.tcpIdleTimeoutMs", "must be 0 (never) or more");
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
        if (g.MaxLineBytes is < 64 or > 1 << 20) Fail("collector.graphite.maxLineBytes", "must be 64 to 1048576");
        if (g.MaxTags < 0) Fail("collector.graphite.maxTags", "must be 0 (no tags) or more");
        if (g.MaxConnections < 1) Fail("collector.graphite.maxConnections", "must be at least 1");
        if (g.IdleTimeoutMs < 0) Fail("collector.graphite.idleTimeoutMs", "must be 0 (never) or more");
        if (g.MaxTagLength < 1) Fail("collector.graphite.maxTagLength", "must be at least 1");
        var pk = g.Pickle;
        Address("collector.graphite.pickle.address", pk.Address); Port("collector.graphite.pickle.port", pk.Port);
        if (pk.MaxConnections < 1) Fail("collector.graphite.pickle.maxConnections", "must be at least 1");
        if (pk.IdleTimeoutMs < 0) Fail("collector.graphite.pickle.idleTimeoutMs", "must be 0 (never) or more");
        if (pk.MaxFrameBytes is < 64 or > 64 << 20) Fail("collector.graphite.pickle.maxFrameBytes", "must be 64 to 67108864");
        if (pk.MaxDepth is < 3 or > 64) Fail("collector.graphite.pickle.maxDepth", "must be 3 (a carbon pickle's nesting) to 64");
        if (pk.MaxItems is < 5 or > 10_000_000) Fail("collector.graphite.pickle.maxItems", "must be 5 to 10000000");
        if (pk.MaxMemo is < 0 or > 10_000_000) Fail("collector.graphite.pickle.maxMemo", "must be 0 to 10000000");
        if (c.Collector.Beacons.Enabled) foreach (var p in c.Collector.Beacons.Validate()) Fail(p.KeyPath, p.Message);
        // Beacons and log rules become StatsD timers and counters: without the StatsD flush they would vanish silently.
        if (!s.Enabled && c.Collector.Beacons.Enabled) Fail("collector.beacons.enabled", "needs collector.statsd.enabled (beacons are flushed as StatsD timers)");
        if (!s.Enabled && c.Logs.Metrics.Rules.Count > 0) Fail("logs.metrics.rules", "need collector.statsd.enabled (their metrics are flushed as StatsD's)");
        var l = c.Logs;
        Address("logs.udp.address", l.Udp.Address); Port("logs.udp.port", l.Udp.Port);
        Address("logs.gelf.address", l.Gelf.Address); Port("logs.gelf.port", l.Gelf.Port);
        if (l.Gelf.ChunkTimeoutMs < 100) Fail("logs.gelf.chunkTimeoutMs", "must be at least 100");
        if (l.Gelf.TcpMaxConnections < 1) Fail("logs.gelf.tcpMaxConnections", "must be at least 1");
        if (l.Gelf.TcpIdleTimeoutMs < 0) Fail("logs.gelf.tcpIdleTimeoutMs", "must be 0 (never) or more");
        if (l.Gelf.MaxPendingMessages < 1) Fail("logs.gelf.maxPendingMessages", "must be at least 1");
        if (l.BatchMaxEvents < 1) Fail("logs.batchMaxEvents", "must be at least 1");
        if (l.BatchMaxDelayMs < 1) Fail("logs.batchMaxDelayMs", "must be at least 1");
        if (l.MaxMetricServices < 1) Fail("logs.maxMetricServices", "must be at least 1");
        if (l.MaxMessageBytes is < 1024 or > 64 << 20) Fail("logs.maxMessageBytes", "must be 1024 to 67108864");
        if (l.MetricPrefix.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(l.MetricPrefix, @"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"))
            Fail("logs.metricPrefix", $"'{l.MetricPrefix}' is not a Graphite path (letters, digits, _ and -, separated by dots)");
        foreach (var p in l.Metrics.Validate()) Fail(p.KeyPath, p.Message);
        if (l.Store.RetentionDays <= 0 || !double.IsFinite(l.Store.RetentionDays)) Fail("logs.store.retentionDays", "must be more than 0");
        if (l.Store.RetentionCheckMinutes < 1) Fail("logs.store.retentionCheckMinutes", "must be at least 1");
        if (l.Store.MaxLimit < 1) Fail("logs.store.maxLimit", "must be at least 1");
        foreach (var p in Observe.Storage.MetricSinks.Validate(c.Sinks.Spool, c.Sinks.Carbon, c.Sinks.Influx)) Fail(p.KeyPath, p.Message);
        foreach (var p in Observe.Storage.PrometheusSinks.Validate(c.Prometheus)) Fail(p.KeyPath, p.Message);
        foreach (var p in Observe.Storage.ElasticsearchSinks.Validate(c.Sinks.Elasticsearch)) Fail(p.KeyPath, p.Message);
        var sinkNames = c.Sinks.Carbon.Where(x => x.Enabled).Select(x => x.Name).Concat(c.Sinks.Influx.Where(x => x.Enabled).Select(x => x.Name)).ToHashSet();
        for (var i = 0; i < c.Sinks.RemoteWrite.Count; i++)
        {
            var rw = c.Sinks.RemoteWrite[i];
            foreach (var p in Observe.Storage.PrometheusSinks.Validate(rw, $"sinks.remoteWrite[{i}]")) Fail(p.KeyPath, p.Message);
            if (rw.Enabled && !sinkNames.Add(rw.Name)) Fail($"sinks.remoteWrite[{i}].name", $"'{rw.Name}' is already the name of another sink");
        }
        if (c.Sinks.Elasticsearch.Enabled && !sinkNames.Add(c.Sinks.Elasticsearch.Name))
            Fail("sinks.elasticsearch.name", $"'{c.Sinks.Elasticsearch.Name}' is already the name of another sink");
        foreach (var p in Observe.Storage.StorageConfig.Validate(c.Storage)) Fail(p.KeyPath, p.Message);
        foreach (var p in Observe.Checks.ChecksConfig.Validate(c.Checks, targetProblem: Observe.Storage.SeriesQueries.TargetProblem)) Fail(p.KeyPath, p.Message);
        foreach (var p in Observe.Collector.ScrapeHosting.Validate(c.Scrape)) Fail(p.KeyPath, p.Message);
        foreach (var p in Observe.DeployMarkers.DeploysConfig.Validate(c.Deploys, targetProblem: Observe.Storage.SeriesQueries.TargetProblem)) Fail(p.KeyPath, p.Message);
        for (var i = 0; i < c.Deploys.Services.Count; i++)
            for (var j = 0; j < c.Deploys.Services[i].Checks.Count; j++)
                if (c.Deploys.Services[i].Checks[j].Split('/') is [var h, var n] && !c.Checks.Hosts.Any(x => x.Name == h && x.Checks.Any(k => k.Name == n)))
                    Fail($"deploys.services[{i}].checks[{j}]", $"no check {h}/{n} is declared under checks.hosts");
        if (c.Alerting.Enabled) foreach (var p in Observe.Alerting.AlertingConfig.Validate(c.Alerting)) Fail(p.KeyPath, p.Message);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var secrets = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < c.Auth.Tokens.Count; i++)
        {
            var t = c.Auth.Tokens[i];
            var key = $"auth.tokens[{i}]";
            if (string.IsNullOrWhiteSpace(t.Name)) Fail($"{key}.name", "every token needs a name (it is recorded as who did what)");
            else if (!names.Add(t.Name)) Fail($"{key}.name", $"'{t.Name}' is used by another token");
            // A tokenFile that could not be read was reported by the binder already.
            if (t.Token is null) { if (!(positions?.ContainsKey($"{key}.tokenFile") ?? false)) Fail($"{key}.token", "required: give token or tokenFile"); }
            else if (t.Token.Length < 16) Fail($"{key}.token", "too short: use at least 16 characters (e.g. openssl rand -hex 24)");
            // One secret, one identity: the first token with it would win every request, whatever the other's scopes.
            if (t.Token is { Length: > 0 } secret && !secrets.TryAdd(secret, i))
                Fail($"{key}.token", $"the same secret as auth.tokens[{secrets[secret]}]; every token needs its own");
            if (t.Scopes.Count == 0) Fail($"{key}.scopes", $"give at least one of {string.Join(", ", Auth.ApiScopes.All)}");
            for (var j = 0; j < t.Scopes.Count; j++)
                if (Array.IndexOf(Auth.ApiScopes.All, t.Scopes[j]) < 0) Fail($"{key}.scopes[{j}]", $"'{t.Scopes[j]}' is not one of {string.Join(", ", Auth.ApiScopes.All)}");
        }
        if (c.Logging.Level.ToLowerInvariant() is not ("verbose" or "debug" or "information" or "warning" or "error" or "fatal"))
            Fail("logging.level", $"'{c.Logging.Level}' is not one of verbose, debug, information, warning, error, fatal");
    }

    /// <summary>Each status component names checks that exist, as host/check (a typo would show "operational" forever).</summary>
    private static void ValidateStatusPage(ObserveConfig c, Action<string, string> fail)
    {
        var known = c.Checks.Hosts.SelectMany(h => h.Checks.Select(k => h.Name + "/" + k.Name)).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < c.Console.Status.Components.Count; i++)
        {
            var comp = c.Console.Status.Components[i];
            var key = $"console.status.components[{i}]";
            if (string.IsNullOrWhiteSpace(comp.Name)) fail(key + ".name", "a component needs a name");
            if (comp.Checks.Count == 0) fail(key + ".checks", "a component needs at least one check (host/check)");
            for (var j = 0; j < comp.Checks.Count; j++)
                if (!known.Contains(comp.Checks[j])) fail($"{key}.checks[{j}]", $"'{comp.Checks[j]}' is not a configured check (host/check)");
        }
    }
}
