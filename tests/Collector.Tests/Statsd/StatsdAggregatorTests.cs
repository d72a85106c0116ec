using System.Text;
using Observe.Collector.Statsd;

namespace Observe.Collector.Tests.Statsd;

public sealed class StatsdAggregatorTests
{
    [Theory]
    [InlineData(new[] { "g:333|g" }, 333)]
    [InlineData(new[] { "g:50|g", "g:-3|g" }, 47)]
    [InlineData(new[] { "g:50|g", "g:+3|g" }, 53)]
    [InlineData(new[] { "g:-3|g" }, -3)]            // no gauge yet: sets
    [InlineData(new[] { "g:0|g", "g:-5|g" }, -5)]   // zero gauge: sets (the way to go negative)
    [InlineData(new[] { "g:4|g", "g:-4|g", "g:+9|g" }, 9)]
    [InlineData(new[] { "g:10|g", "g: +5|g" }, 5)]  // the sign must be the first character
    [InlineData(new[] { "g:3|g|@0.1" }, 3)]         // rate ignored
    [InlineData(new[] { "g:5|g:+1|g:-2|g" }, 4)]    // multi-sample line
    public void Gauges_follow_the_delta_rule(string[] lines, double expected)
    {
        var a = StatsdTest.Aggregator();
        a.Send(lines);
        Assert.Equal(expected, a.FlushDict()["stats.gauges.g"]);
    }

    [Fact]
    public void Gauges_persist_unless_deleted_after_ttl()
    {
        var keep = StatsdTest.Aggregator();
        keep.Send("g:1|g");
        keep.FlushDict();
        Assert.Equal(1, keep.FlushDict()["stats.gauges.g"]);

        var del = StatsdTest.Aggregator(o => { o.DeleteGauges = true; o.GaugesMaxTTL = 2; });
        del.Send("g:1|g");
        Assert.True(del.FlushDict().ContainsKey("stats.gauges.g"));
        Assert.True(del.FlushDict().ContainsKey("stats.gauges.g"));
        Assert.False(del.FlushDict().ContainsKey("stats.gauges.g"));
        Assert.Equal(0, del.Totals.ActiveKeys); // statsd.timestamp_lag is left, and is not a user's key
    }

    [Fact]
    public void The_aggregators_own_timestamp_lag_gauge_is_not_an_active_key()
    {
        // Like Etsy's three ingest counters, the lag gauge is the aggregator's own: counting it made activeKeys 1 on an
        // idle Observe from its second flush on (MemoryBudgetBinaryTests saw it when the machine was slow), and it took
        // one place of maxActiveKeys from the users' keys.
        var a = StatsdTest.Aggregator(o => o.MaxActiveKeys = 1);
        a.FlushDict();
        Assert.True(a.FlushDict().ContainsKey("stats.gauges.statsd.timestamp_lag"));
        Assert.Equal(0, a.Totals.ActiveKeys);
        a.Send("user.key:1|c");
        Assert.Equal(1, a.FlushDict()["stats_counts.user.key"]);
    }

    [Fact]
    public void Counters_with_sample_rates_and_idle_behaviour()
    {
        var a = StatsdTest.Aggregator(o => o.FlushInterval = 2000);
        a.Send("c:1|c|@0.1", "c:2|c", "x:1|c:2|c");
        var d = a.FlushDict();
        Assert.Equal(12, d["stats_counts.c"], 9);
        Assert.Equal(6, d["stats.c"], 9);
        Assert.Equal(3, d["stats_counts.x"]);
        Assert.Equal(0, a.FlushDict()["stats_counts.c"]);
        var del = StatsdTest.Aggregator(o => o.DeleteIdleStats = true);
        del.Send("c:1|c", "t:1|ms", "s:1|s");
        del.FlushDict();
        var idle = del.FlushDict();
        Assert.DoesNotContain("stats_counts.c", idle.Keys);
        Assert.DoesNotContain("stats.timers.t.count", idle.Keys);
        Assert.DoesNotContain("stats.sets.s.count", idle.Keys);
        Assert.Equal(0, idle["stats_counts.statsd.packets_received"]); // ingest counters are zeroed, never deleted
    }

    [Fact]
    public void Internal_metric_names_legacy_and_namespaced()
    {
        var a = StatsdTest.Aggregator();
        a.Send("k:1|c", "bad");
        var first = a.FlushDict();
        var d = a.FlushDict();
        foreach (var n in new[]
                 {
                     "statsd.numStats", "stats.statsd.processing_time", "stats.statsd.graphiteStats.calculationtime",
                     "stats.statsd.graphiteStats.last_exception", "stats.statsd.graphiteStats.last_flush",
                     "stats.statsd.graphiteStats.flush_time", "stats.statsd.graphiteStats.flush_length",
                     "stats.statsd.bad_lines_seen", "stats_counts.statsd.packets_received", "stats.gauges.statsd.timestamp_lag",
                 })
            Assert.Contains(n, d.Keys);
        Assert.DoesNotContain("stats.gauges.statsd.timestamp_lag", first.Keys);
        Assert.Equal(1, first["stats_counts.statsd.bad_lines_seen"]);
        Assert.Equal(2, first["stats_counts.statsd.metrics_received"]);
        Assert.Equal(4, first["statsd.numStats"]);

        var n2 = StatsdTest.Aggregator(o => { o.LegacyNamespace = false; o.GlobalPrefix = "g"; o.PrefixCounter = ""; o.GlobalSuffix = "s"; });
        n2.Send("k:1|c|#t:v");
        var e = n2.FlushDict();
        Assert.Contains("g.k.rate.s;t=v", e.Keys);
        Assert.Contains("g.k.count.s;t=v", e.Keys);
        Assert.Contains("g.statsd.numStats.s", e.Keys);
        Assert.Contains("g.statsd.graphiteStats.last_flush.s", e.Keys);
    }

    [Theory]
    [InlineData("fo/o:1|c", "stats_counts.fo-o")]
    [InlineData("b ar:1|c", "stats_counts.b_ar")]
    [InlineData("foo+bar:1|c", "stats_counts.foobar")]
    [InlineData("a \t b:1|c", "stats_counts.a_b")]
    [InlineData("ünï:1|c", "stats_counts.n")]
    [InlineData("k:1|c|#env:prod,region:eu", "stats_counts.k;env=prod;region=eu")]
    [InlineData("k:1|c|#x:y:z", "stats_counts.k;x=yz")]
    [InlineData("k:1|c|#k;v:w", "stats_counts.k;k_v=w")]
    [InlineData("k:1|c|#a:b|#c:d", "stats_counts.k;a=b")]
    [InlineData("k:1|c|#flag", "stats_counts.k;flag")]
    [InlineData("k:1|c|#", "stats_counts.k")]
    [InlineData("k;tag=v:1|c", "stats_counts.k;tag=v")]
    [InlineData("k:1|c\r", "stats_counts.k")]
    public void Keys_are_sanitised_and_tagged_like_Etsy(string line, string name)
    {
        var a = StatsdTest.Aggregator();
        a.Send(line);
        Assert.Equal(0, a.Totals.BadLinesSeen);
        Assert.Equal(1, a.FlushDict()[name]);
    }

    [Fact]
    public void Histogram_and_distribution_types_aggregate_as_timers()
    {
        var a = StatsdTest.Aggregator();
        a.Send("h:1|h", "h:3|d", "h:-2|h");
        var d = a.FlushDict();
        Assert.Equal(3, d["stats.timers.h.count"]);
        Assert.Equal(-2, d["stats.timers.h.lower"]);
        Assert.DoesNotContain("stats_counts.h", d.Keys);
        Assert.Equal(0, a.Totals.BadLinesSeen);
    }

    [Theory]
    [InlineData("k:1|z")]
    [InlineData("k:1|C")]
    [InlineData("k:1|count")]
    [InlineData("k:NaN|c")]
    [InlineData("k:Infinityx|g")]
    [InlineData("k:1|c|@+0.5")]   // Etsy throws here; Observe counts a bad line
    [InlineData("nocolon")]
    [InlineData("k:")]
    [InlineData("k:1|c|@")]
    public void Unknown_types_and_garbage_are_bad_lines(string line)
    {
        var a = StatsdTest.Aggregator();
        a.Send(line);
        Assert.Equal(1, a.Totals.BadLinesSeen);
        Assert.Equal(3, a.FlushDict().Count(kv => kv.Key.StartsWith("stats_counts.")));
    }

    [Fact]
    public void Garbage_never_throws()
    {
        var a = StatsdTest.Aggregator();
        var rnd = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var buf = new byte[rnd.Next(0, 300)];
            rnd.NextBytes(buf);
            a.HandlePacket(buf);
        }
        var big = new byte[64 * 1024];
        big.AsSpan().Fill((byte)'x');
        a.HandlePacket(big);
        a.HandlePacket([0xff, 0xfe, (byte)':', (byte)'1', (byte)'|', (byte)'c']);
        a.Flush(0);
        Assert.True(a.Totals.BadLinesSeen > 0);
    }

    [Fact]
    public void Invalid_utf8_and_overlong_lines_are_bad_lines_and_neighbours_survive()
    {
        var a = StatsdTest.Aggregator();
        byte[] invalid = [(byte)'k', 0xff, 0xfe, .. "k:1|c\nok:2|c"u8.ToArray()];
        a.HandlePacket(invalid);
        var longKey = new string('a', 8200);
        a.Send($"{longKey}:1|c\nok:3|c");
        var d = a.FlushDict();
        Assert.Equal(2, a.Totals.BadLinesSeen);
        Assert.Equal(5, d["stats_counts.ok"]);
        Assert.DoesNotContain(d.Keys, k => k.Contains("stats_counts.k") || k.Contains(longKey));
    }

    [Fact]
    public void Multi_value_lines_count_each_bad_sample()
    {
        var a = StatsdTest.Aggregator();
        a.Send("m:1|c:x|c:2|c:3|ms");
        var d = a.FlushDict();
        Assert.Equal(3, d["stats_counts.m"]);
        Assert.Equal(1, d["stats.timers.m.count"]);
        Assert.Equal(1, a.Totals.BadLinesSeen);
        Assert.Equal(1, a.Totals.MetricsReceived);
    }

    [Fact]
    public void Events_and_service_checks_reach_the_sink()
    {
        var sink = new RecordingEventSink();
        var a = StatsdTest.Aggregator(sink: sink);
        a.Send("_e{5,9}:Hello|wörld\\nx|d:1700000000|h:web1|p:low|t:warning|k:agg|s:src|#a:b,c",
            "_sc|db.check|2|d:1700000001|h:db1|#role:primary|m:down \\n now",
            "_e{5,4}:Hello|too long", "_sc|x|7", "_sc||0", "_e{x,1}:a|b");
        Assert.Equal(2, a.Totals.EventsReceived);
        Assert.Equal(4, a.Totals.BadLinesSeen);
        var e = Assert.Single(sink.Events);
        Assert.Equal(("Hello", "wörld\nx", 1700000000L, "web1", "low", "warning", "agg", "src"),
            (e.Title, e.Text, e.Timestamp, e.Hostname, e.Priority, e.AlertType, e.AggregationKey, e.SourceType));
        Assert.Equal(["a:b", "c"], e.Tags);
        var sc = Assert.Single(sink.Checks);
        Assert.Equal(("db.check", 2, 1700000001L, "db1", "down \n now"), (sc.Name, sc.Status, sc.Timestamp, sc.Hostname, sc.Message));
        Assert.Equal(["role:primary"], sc.Tags);
    }

    [Fact]
    public void Cardinality_limit_drops_new_keys_only()
    {
        var a = StatsdTest.Aggregator(o => o.MaxActiveKeys = 3);
        a.Send("a:1|c", "b:1|ms", "c:1|g", "d:1|s", "e:1|c", "a:1|c");
        Assert.Equal(2, a.Totals.KeysDroppedByLimit);
        Assert.Equal(3, a.Totals.ActiveKeys);
        var d = a.FlushDict();
        Assert.Equal(2, d["stats_counts.a"]);
        Assert.DoesNotContain("stats.sets.d.count", d.Keys);
    }

    private sealed class Pressure : IMemoryPressure { public MemoryPressure Level { get; set; } }

    /// <summary>limits.memory: while the budget refuses new things, new keys are dropped and counted; known keys keep aggregating.</summary>
    [Fact]
    public void Memory_budget_refuses_new_keys_only_and_counts_them()
    {
        var pressure = new Pressure();
        var a = new StatsdAggregator(new StatsdOptions(), null) { Pressure = pressure };
        a.Send("a:1|c");
        pressure.Level = MemoryPressure.Relieve; // relief alone refuses nothing
        a.Send("b:1|c");
        pressure.Level = MemoryPressure.RefuseNew;
        a.Send("a:1|c", "c:1|ms", "d:1|g");
        Assert.Equal(2, a.Totals.KeysDroppedByLimit);
        Assert.Equal(2, a.Totals.ActiveKeys);
        var d = a.FlushDict();
        Assert.Equal(2, d["stats_counts.a"]);
        Assert.DoesNotContain("stats.gauges.d", d.Keys);
    }

    [Fact]
    public async Task Concurrent_packets_and_flushes_conserve_totals()
    {
        var a = StatsdTest.Aggregator(o => o.FlushInterval = 1000);
        const int threads = 4, perThread = 20_000;
        double counted = 0, timerCount = 0, setMax = 0;
        using var stop = new CancellationTokenSource();
        void Collect(MetricBatch b)
        {
            foreach (var p in b.Points)
            {
                if (p.Path.StartsWith("stats_counts.k")) counted += p.Value;
                else if (p.Path.StartsWith("stats.timers.t") && p.Path.EndsWith(".count")) timerCount += p.Value;
                else if (p.Path == "stats.sets.s.count") setMax = Math.Max(setMax, p.Value);
            }
        }
        var flusher = Task.Run(() => { while (!stop.IsCancellationRequested) Collect(a.Flush(0)); });
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var packet = Encoding.UTF8.GetBytes($"k{t % 2}:1|c\nt{t}:5|ms\ns:v|s\nbad\ng:+1|g");
            for (var i = 0; i < perThread; i++) a.HandlePacket(packet);
        });
        stop.Cancel();
        await flusher;
        Collect(a.Flush(0));
        Assert.Equal(threads * perThread, counted);
        Assert.Equal(threads * perThread, timerCount);
        Assert.Equal(1, setMax);
        var totals = a.Totals;
        Assert.Equal(threads * perThread, totals.PacketsReceived);
        Assert.Equal(threads * perThread * 5L, totals.MetricsReceived);
        Assert.Equal(threads * perThread, totals.BadLinesSeen);
    }

    [Fact]
    public void Existing_keys_do_not_allocate_on_the_hot_path()
    {
        var a = StatsdTest.Aggregator();
        var packet = Encoding.UTF8.GetBytes("hot.counter:1|c|@0.5\nhot.gauge:+1|g\nhot.set:member|s\nhot.tagged:2|c|#env:prod,dc:a\nsan itize/me:1|c");
        for (var i = 0; i < 100; i++) a.HandlePacket(packet); // warm up: keys, pools
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++) a.HandlePacket(packet);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 50,000 lines");
        Assert.Equal(0, a.Totals.BadLinesSeen);
    }
}
