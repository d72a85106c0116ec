using System.Text;

namespace Observe.Collector.Tests.Scrape;

public class ScrapeParserTests
{
    private static ScrapeOutput Output(int maxSeries = 10_000, string[]? include = null, string[]? exclude = null, int maxName = 512) =>
        new("scrape.app.web1", 1_700_000_000, maxSeries, maxName,
            include?.Select(g => ScrapeGlob.Create(g)!).ToArray(), exclude?.Select(g => ScrapeGlob.Create(g)!).ToArray());

    private static Dictionary<string, double> Points(ScrapeOutput o) => o.Points.ToDictionary(p => p.Path, p => p.Value);

    [Fact]
    public void Json_numeric_leaves_become_paths_arrays_indexed_booleans_01_strings_skipped()
    {
        const string json = """
            {"counters": {"requests": 1027, "errors.5xx": 3},
             "timings": [{"name": "db", "ms": 12.5}, null, {"ms": 7}],
             "vm": {"memory": {"total": 104857600, "processes": 5e6}, "healthy": true, "degraded": false},
             "version": "1.2.3", "nothing": null, "list": [1, "x", 3]}
            """;
        var o = Output();
        Assert.Equal(ScrapeFailure.None, JsonStatsParser.Parse(Encoding.UTF8.GetBytes(json), o, 32));
        var p = Points(o);
        Assert.Equal(1027, p["scrape.app.web1.counters.requests"]);
        Assert.Equal(3, p["scrape.app.web1.counters.errors_5xx"]);
        Assert.Equal(12.5, p["scrape.app.web1.timings.0.ms"]);
        Assert.Equal(7, p["scrape.app.web1.timings.2.ms"]);
        Assert.Equal(104857600, p["scrape.app.web1.vm.memory.total"]);
        Assert.Equal(5e6, p["scrape.app.web1.vm.memory.processes"]);
        Assert.Equal(1, p["scrape.app.web1.vm.healthy"]);
        Assert.Equal(0, p["scrape.app.web1.vm.degraded"]);
        Assert.Equal(1, p["scrape.app.web1.list.0"]);
        Assert.Equal(3, p["scrape.app.web1.list.2"]);
        Assert.Equal(10, p.Count);
        Assert.All(o.Points, x => Assert.Equal(1_700_000_000, x.Timestamp));
    }

    [Fact]
    public void A_page_cannot_write_the_scrapers_own_up_duration_or_series()
    {
        var o = Output();
        JsonStatsParser.Parse("""{"up": 1, "scrape_duration": 5, "scrape_series": 9, "upstream": 2, "x": {"up": 3}}"""u8, o, 32);
        Assert.Equal(["scrape.app.web1.upstream", "scrape.app.web1.x.up"], o.Points.Select(p => p.Path).Order().ToArray());
        Assert.Equal(3, o.Reserved);
    }

    [Fact]
    public void Json_include_and_exclude_globs_see_the_path_below_the_prefix()
    {
        var o = Output(include: ["counters.*", "vm.**"], exclude: ["vm.memory.{free,shared}"]);
        JsonStatsParser.Parse("""{"counters":{"a":1,"b":{"deep":2}},"vm":{"memory":{"total":3,"free":4,"shared":5}},"other":6}"""u8, o, 32);
        Assert.Equal(["scrape.app.web1.counters.a", "scrape.app.web1.vm.memory.total"], o.Points.Select(p => p.Path).Order().ToArray());
    }

    [Fact]
    public void Json_deeper_than_the_bound_fails_the_scrape_even_when_absurdly_deep()
    {
        var ok = new string('[', 32) + "1" + new string(']', 32);
        Assert.Equal(ScrapeFailure.None, JsonStatsParser.Parse(Encoding.UTF8.GetBytes(ok), Output(), 32));
        var deep = new string('[', 33) + "1" + new string(']', 33);
        Assert.Equal(ScrapeFailure.JsonDepth, JsonStatsParser.Parse(Encoding.UTF8.GetBytes(deep), Output(), 32));
        var hostile = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 1_000_000)));
        Assert.Equal(ScrapeFailure.JsonDepth, JsonStatsParser.Parse(hostile, Output(), 32));
    }

    [Theory]
    [InlineData("{\"a\": 1")]
    [InlineData("{\"a\": }")]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("")]
    public void Json_that_is_not_json_fails_as_parse(string body) =>
        Assert.Equal(ScrapeFailure.Parse, JsonStatsParser.Parse(Encoding.UTF8.GetBytes(body), Output(), 32));

    [Fact]
    public void Series_beyond_the_bound_are_dropped_and_counted_names_too_long_too()
    {
        var json = "[" + string.Join(',', Enumerable.Range(0, 25_000)) + "]";
        var o = Output(maxSeries: 10_000);
        Assert.Equal(ScrapeFailure.None, JsonStatsParser.Parse(Encoding.UTF8.GetBytes(json), o, 32));
        Assert.Equal(10_000, o.Points.Count);
        Assert.Equal(15_000, o.DroppedBySeriesLimit);

        var longKey = new string('k', 600);
        var o2 = Output();
        JsonStatsParser.Parse(Encoding.UTF8.GetBytes($"{{\"{longKey}\": 1, \"b\": 2}}"), o2, 32);
        Assert.Equal(1, o2.DroppedByNameLength);
        Assert.Equal(["scrape.app.web1.b"], o2.Points.Select(p => p.Path));
    }

    [Fact]
    public void Prometheus_samples_become_series_with_labels_as_tags()
    {
        const string text = """
            # HELP http_requests_total The total number of HTTP requests.
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{code="400", method="post",} 3
            go_goroutines 37
            # TYPE rpc_duration_seconds summary
            rpc_duration_seconds{quantile="0.5"} 4.773e-05
            rpc_duration_seconds_sum 1.7560473e+07
            rpc_duration_seconds_count 2693
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{le="0.05"} 24054
            http_request_duration_seconds_bucket{le="+Inf"} 144320
            http_request_duration_seconds_sum 53423
            msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
            weird{name="x",empty="",semi="a;b",tilde="~re"} 1
            nan_metric NaN
            inf_metric +Inf
            process:cpu_seconds:rate5m -1.5e-3
            # EOF
            """;
        var o = Output();
        Assert.Equal(ScrapeFailure.None, PrometheusTextParser.Parse(Encoding.UTF8.GetBytes(text), o));
        var p = Points(o);
        Assert.Equal(1027, p["scrape.app.web1.http_requests_total;method=post;code=200"]);
        Assert.Equal(3, p["scrape.app.web1.http_requests_total;code=400;method=post"]);
        Assert.Equal(37, p["scrape.app.web1.go_goroutines"]);
        Assert.Equal(4.773e-05, p["scrape.app.web1.rpc_duration_seconds;quantile=0.5"]);
        Assert.Equal(2693, p["scrape.app.web1.rpc_duration_seconds_count"]);
        Assert.Equal(24054, p["scrape.app.web1.http_request_duration_seconds_bucket;le=0.05"]);
        Assert.Equal(144320, p["scrape.app.web1.http_request_duration_seconds_bucket;le=+Inf"]);
        Assert.Equal(53423, p["scrape.app.web1.http_request_duration_seconds_sum"]);
        Assert.Equal(1.458255915e9, p["scrape.app.web1.msdos_file_access_time_seconds;path=C:\\DIR\\FILE.TXT;error=Cannot_find_file:_\"FILE.TXT\""]);
        Assert.Equal(1, p["scrape.app.web1.weird;exported_name=x;semi=a_b;tilde=_re"]);
        Assert.Equal(-1.5e-3, p["scrape.app.web1.process:cpu_seconds:rate5m"]);
        Assert.Equal(2, o.NonFinite);
        Assert.Equal(0, o.BadLines);
        Assert.Equal(12, p.Count);
    }

    [Theory]
    [InlineData("no_value")]
    [InlineData("1bad_name 1")]
    [InlineData("x{a=\"unclosed} 1")]
    [InlineData("x{a=unquoted} 1")]
    [InlineData("x{a=\"v\" b=\"w\"} 1")]
    [InlineData("x{a=\"\\q\"} 1")]
    [InlineData("x 1 notatimestamp")]
    [InlineData("x one")]
    [InlineData("x{} ")]
    [InlineData("{a=\"b\"} 1")]
    public void Prometheus_bad_lines_are_skipped_and_counted_the_rest_kept(string bad)
    {
        var o = Output();
        PrometheusTextParser.Parse(Encoding.UTF8.GetBytes($"good_before 1\n{bad}\ngood_after 2\n"), o);
        Assert.Equal(1, o.BadLines);
        Assert.Equal(["scrape.app.web1.good_after", "scrape.app.web1.good_before"], o.Points.Select(p => p.Path).Order().ToArray());
    }

    [Fact]
    public void Prometheus_hostile_input_is_bounded()
    {
        // 65 labels on one line: more than any exporter writes; refused as a bad line.
        var many = "x{" + string.Join(',', Enumerable.Range(0, 65).Select(i => $"l{i}=\"v\"")) + "} 1\n";
        var o = Output();
        PrometheusTextParser.Parse(Encoding.UTF8.GetBytes(many), o);
        Assert.Equal(1, o.BadLines);
        // A 2 MB label value makes a name over maxNameLength: dropped and counted, never stored.
        var huge = "y{v=\"" + new string('a', 2_000_000) + "\"} 1\n";
        var o2 = Output();
        PrometheusTextParser.Parse(Encoding.UTF8.GetBytes(huge), o2);
        Assert.Equal(1, o2.DroppedByNameLength);
        Assert.Empty(o2.Points);
        // Invalid UTF-8 and NULs do not throw.
        var o3 = Output();
        PrometheusTextParser.Parse([0xff, 0xfe, 0, (byte)'\n', (byte)'z', (byte)' ', (byte)'1'], o3);
        Assert.Equal(["scrape.app.web1.z"], o3.Points.Select(p => p.Path));
    }

    [Fact]
    public void Nginx_stub_status_becomes_seven_series()
    {
        const string page = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630947 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";
        var o = Output();
        Assert.Equal(ScrapeFailure.None, NginxStatusParser.Parse(Encoding.ASCII.GetBytes(page), o));
        Assert.Equal(new Dictionary<string, double>
        {
            ["scrape.app.web1.active"] = 291, ["scrape.app.web1.accepts"] = 16630948, ["scrape.app.web1.handled"] = 16630947,
            ["scrape.app.web1.requests"] = 31070465, ["scrape.app.web1.reading"] = 6, ["scrape.app.web1.writing"] = 179,
            ["scrape.app.web1.waiting"] = 106,
        }, Points(o));
    }

    [Theory]
    [InlineData("<html><body>Welcome to nginx!</body></html>")]
    [InlineData("Active connections: x \nserver accepts handled requests\n 1 1 1 \nReading: 0 Writing: 1 Waiting: 0 \n")]
    [InlineData("Active connections: -1 \nserver accepts handled requests\n 1 1 1 \nReading: 0 Writing: 1 Waiting: 0 \n")]
    [InlineData("")]
    public void Nginx_anything_else_fails_the_scrape(string page) =>
        Assert.Equal(ScrapeFailure.Parse, NginxStatusParser.Parse(Encoding.UTF8.GetBytes(page), Output()));

    [Fact]
    public void Nginx_a_huge_page_is_refused_without_reading_it() =>
        Assert.Equal(ScrapeFailure.Parse, NginxStatusParser.Parse(new byte[1 << 20], Output()));
}
