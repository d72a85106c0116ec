using Observe.Common;

namespace Observe.Collector;

/// <summary>The <c>scrape:</c> section of observe.yaml (docs/configuration.md#scrape): numbers apps already expose, fetched on a schedule.</summary>
public sealed class ScrapeOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>A response body longer than this fails the scrape (<c>body_size</c>).</summary>
    public int MaxBodyBytes { get; set; } = 8 * 1024 * 1024;
    /// <summary>JSON nested deeper than this fails the scrape (<c>json_depth</c>).</summary>
    public int MaxJsonDepth { get; set; } = 32;
    /// <summary>Series one scrape may produce; the rest of that scrape is dropped and counted (<c>series</c>).</summary>
    public int MaxSeriesPerScrape { get; set; } = 10_000;
    /// <summary>A series name (prefix, path and tags) longer than this is dropped and counted (<c>name_length</c>).</summary>
    public int MaxNameLength { get; set; } = 512;
    /// <summary>Scrapes running at once (Quartz's thread pool); a target due while all are busy waits.</summary>
    public int MaxConcurrency { get; set; } = 64;
    public List<ScrapeTargetOptions> Targets { get; set; } = [];

    public static readonly string[] Formats = ["json", "prometheus", "nginx"];

    /// <summary>Every problem with the section, by key path.</summary>
    public IEnumerable<ConfigProblem> Validate()
    {
        if (MaxBodyBytes < 1024) yield return new("scrape.maxBodyBytes", "must be at least 1024");
        if (MaxJsonDepth is < 1 or > 1000) yield return new("scrape.maxJsonDepth", "must be between 1 and 1000");
        if (MaxSeriesPerScrape < 1) yield return new("scrape.maxSeriesPerScrape", "must be at least 1");
        if (MaxNameLength is < 32 or > 4096) yield return new("scrape.maxNameLength", "must be between 32 and 4096");
        if (MaxConcurrency < 1) yield return new("scrape.maxConcurrency", "must be at least 1");
        var prefixes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Targets.Count; i++)
        {
            var t = Targets[i];
            var key = $"scrape.targets[{i}]";
            if (string.IsNullOrWhiteSpace(t.Job)) yield return new($"{key}.job", "required (names the target: scrape.<job>.<instance>)");
            else if (!ScrapeNames.IsNode(t.Job)) yield return new($"{key}.job", $"'{t.Job}' must be letters, digits, _ or - (one Graphite node)");
            if (t.Instance is { } inst && !ScrapeNames.IsNode(inst)) yield return new($"{key}.instance", $"'{inst}' must be letters, digits, _ or - (one Graphite node)");
            Uri? uri = null;
            if (string.IsNullOrWhiteSpace(t.Url)) yield return new($"{key}.url", "required (the http:// or https:// URL to scrape)");
            else if (!Uri.TryCreate(t.Url, UriKind.Absolute, out uri) || uri.Scheme is not ("http" or "https"))
                yield return new($"{key}.url", $"'{t.Url}' is not an http:// or https:// URL");
            if (!DurationSyntax.TryParse(t.Interval, out var interval) || interval < TimeSpan.FromSeconds(1))
                yield return new($"{key}.interval", $"'{t.Interval}' must be a duration of at least 1s");
            if (!DurationSyntax.TryParse(t.Timeout, out var timeout) || timeout <= TimeSpan.Zero)
                yield return new($"{key}.timeout", $"'{t.Timeout}' must be a positive duration");
            else if (interval > TimeSpan.Zero && timeout > interval) yield return new($"{key}.timeout", "must not be longer than the interval");
            if (!Formats.Contains(t.Format)) yield return new($"{key}.format", $"'{t.Format}' is not one of {string.Join(", ", Formats)}");
            if (t.Prefix is { } p && !ScrapeNames.IsPath(p)) yield return new($"{key}.prefix", $"'{p}' is not a Graphite path (nodes of letters, digits, _ or - joined by dots)");
            for (var g = 0; g < t.Include.Count; g++) if (!ScrapeGlob.IsValid(t.Include[g])) yield return new($"{key}.include[{g}]", $"'{t.Include[g]}' is not a glob");
            for (var g = 0; g < t.Exclude.Count; g++) if (!ScrapeGlob.IsValid(t.Exclude[g])) yield return new($"{key}.exclude[{g}]", $"'{t.Exclude[g]}' is not a glob");
            for (var h = 0; h < t.Headers.Count; h++)
            {
                if (string.IsNullOrWhiteSpace(t.Headers[h].Name) || t.Headers[h].Name.Any(c => c <= ' ' || c == ':' || c > '~'))
                    yield return new($"{key}.headers[{h}].name", "required: an HTTP header name");
                if (t.Headers[h].Value is null) yield return new($"{key}.headers[{h}].value", "required: give value or valueFile");
                else if (t.Headers[h].Value!.Any(c => c is '\r' or '\n')) yield return new($"{key}.headers[{h}].value", "must be one line");
            }
            if (t.Tls.CaFile is { } ca && !File.Exists(ca)) yield return new($"{key}.tls.caFile", $"'{ca}' does not exist");
            if (t.Tls.CaFile is not null && t.Tls.InsecureSkipVerify) yield return new($"{key}.tls", "give caFile or insecureSkipVerify, not both");
            if (ScrapeNames.IsPath(t.Prefix ?? "x") && !string.IsNullOrWhiteSpace(t.Job) && uri is not null)
            {
                var prefix = t.EffectivePrefix();
                if (prefixes.TryGetValue(prefix, out var other)) yield return new($"{key}.prefix", $"'{prefix}' is already the prefix of scrape.targets[{other}] (give instance or prefix)");
                else prefixes[prefix] = i;
            }
        }
    }
}

public sealed class ScrapeTargetOptions
{
    /// <summary>The kind of service; the second node of the default prefix.</summary>
    public string Job { get; set; } = "";
    /// <summary>Which one of them; default: the URL's host and port with <c>.</c> and <c>:</c> as <c>_</c>.</summary>
    public string? Instance { get; set; }
    public string Url { get; set; } = "";
    public string Interval { get; set; } = "10s";
    public string Timeout { get; set; } = "5s";
    /// <summary><c>json</c>, <c>prometheus</c> (text exposition) or <c>nginx</c> (stub_status).</summary>
    public string Format { get; set; } = "json";
    /// <summary>Where the series go; default <c>scrape.&lt;job&gt;.&lt;instance&gt;</c>.</summary>
    public string? Prefix { get; set; }
    /// <summary>Globs over the path below the prefix (<c>*</c> one node, <c>**</c> any nodes, <c>{a,b}</c>); none = all.</summary>
    public List<string> Include { get; set; } = [];
    public List<string> Exclude { get; set; } = [];
    /// <summary>Request headers; a secret one as <c>valueFile</c> (or <c>OBSERVE__Scrape__Targets__0__Headers__0__Value</c>).</summary>
    public List<ScrapeHeaderOptions> Headers { get; set; } = [];
    public ScrapeTlsOptions Tls { get; set; } = new();

    public string EffectiveInstance() => Instance ?? ScrapeNames.InstanceOf(Url);
    public string EffectivePrefix() => Prefix ?? $"scrape.{Job}.{EffectiveInstance()}";
}

public sealed class ScrapeHeaderOptions
{
    public string Name { get; set; } = "";
    public string? Value { get; set; }
}

/// <summary>https:// targets are verified against the system's CAs unless told otherwise.</summary>
public sealed class ScrapeTlsOptions
{
    /// <summary>PEM certificate(s) trusted for this target instead of the system's (a private CA or a self-signed server).</summary>
    public string? CaFile { get; set; }
    /// <summary>Do not check the server's certificate at all (a test box only).</summary>
    public bool InsecureSkipVerify { get; set; }
}
