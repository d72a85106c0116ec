using System.Globalization;
using System.Text.RegularExpressions;

namespace Observe.Collector.Beacons;

/// <summary>
/// What one Boomerang beacon says (its rt and navtiming plugins' parameters): the page group and the timings in ms.
/// <c>t_done</c>, <c>t_resp</c>, <c>t_page</c> are durations; <c>nt_*</c> are epoch-ms marks, turned into durations from
/// <c>nt_nav_st</c> (dns, connect, ttfb, dom_interactive, dom_content_loaded, load). Pure: no I/O, for hostile-input tests.
/// </summary>
internal sealed class BeaconParser
{
    internal enum Drop { Bot, NoTiming, Absurd }

    // Boomerang's own duration parameters, stored under their names.
    private static readonly string[] Durations = ["t_done", "t_resp", "t_page"];
    // Navigation Timing marks as (name, start mark, end mark).
    private static readonly (string Name, string Start, string End)[] Marks =
    [
        ("dns", "nt_dns_st", "nt_dns_end"), ("connect", "nt_con_st", "nt_con_end"), ("ttfb", "nt_nav_st", "nt_res_st"),
        ("dom_interactive", "nt_nav_st", "nt_domint"), ("dom_content_loaded", "nt_nav_st", "nt_domcontloaded_st"), ("load", "nt_nav_st", "nt_load_end"),
    ];
    // Crawlers and headless tools do not measure a user's page load.
    private static readonly Regex BotAgent = new("bot|crawl|spider|slurp|headless|phantomjs|lighthouse|pingdom|curl|wget|python-requests",
        RegexOptions.IgnoreCase | RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    private readonly (Regex Url, string Group)[] _groups;
    private readonly double _maxMs;

    public BeaconParser(BeaconOptions o)
    {
        _groups = [.. o.PageGroups.Select(g => (LogMetricsOptions.Compile(g.Url, 100), g.Group))];
        _maxMs = o.MaxTimingMs;
    }

    public static bool IsNode(string s) => s.Length is > 0 and <= 64 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>Fills <paramref name="timings"/>; false with the reason when the whole beacon is dropped. Absurd single timings are left out and counted in <paramref name="absurd"/>.</summary>
    public bool TryParse(Func<string, string?> get, string? userAgent, out string group, List<(string Name, double Ms)> timings, out int absurd, out Drop reason)
    {
        group = "other";
        absurd = 0;
        reason = default;
        var bad = 0;
        timings.Clear();
        if (string.IsNullOrEmpty(userAgent) || userAgent.Length > 1024 || BotAgent.IsMatch(userAgent)) { reason = Drop.Bot; return false; }
        foreach (var d in Durations)
            if (get(d) is { } v) Add(d, Number(v));
        var nav = get("nt_nav_st") is { } n ? Number(n) : double.NaN;
        foreach (var (name, start, end) in Marks)
        {
            var s = start == "nt_nav_st" ? nav : get(start) is { } sv ? Number(sv) : double.NaN;
            if (get(end) is { } ev) Add(name, Number(ev) - s); // an unreadable start makes it NaN: absurd
        }
        absurd = bad;
        if (timings.Count == 0) { reason = absurd > 0 ? Drop.Absurd : Drop.NoTiming; return false; }
        group = Group(get("h.pg"), get("u"));
        return true;

        void Add(string name, double ms)
        {
            if (ms >= 0 && ms <= _maxMs) timings.Add((name, ms));
            else bad++;
        }
    }

    private static double Number(string s) =>
        s.Length <= 32 && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : double.NaN;

    private string Group(string? pg, string? url)
    {
        if (pg != null) return Node(pg);
        if (url != null && url.Length <= 4096)
            foreach (var (re, g) in _groups)
                try { if (re.IsMatch(url)) return g; }
                catch (RegexMatchTimeoutException) { return "other"; }
        return "other";
    }

    // One path node as logs.<service> is named, at most 64 characters.
    private static string Node(string s) => Logs.LogPipeline.MetricNode(s.Length > 64 ? s[..64] : s);
}
