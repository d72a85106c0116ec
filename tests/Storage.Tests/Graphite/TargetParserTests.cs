using Observe.Storage.Graphite;

namespace Observe.Storage.Tests.Graphite;

public class TargetParserTests
{
    [Fact]
    public void Parses_plain_paths_with_globs_and_tags()
    {
        Assert.Equal(new PathNode(0, "a.b*.c"), TargetParser.Parse("a.b*.c"));
        Assert.Equal("a.{x,y}.[0-9]?.c", ((PathNode)TargetParser.Parse("a.{x,y}.[0-9]?.c")).Path);
        Assert.Equal("cpu.load;dc=east;host=h1", ((PathNode)TargetParser.Parse("cpu.load;dc=east;host=h1")).Path);
        Assert.Equal("a.b(c", ((PathNode)TargetParser.Parse(@"a.b\(c")).Path);
    }

    [Fact]
    public void Parses_nested_calls_numbers_strings_booleans_and_kwargs()
    {
        var call = (CallNode)TargetParser.Parse("summarize(sumSeries(a.*.c, b), \"1h\", func='max', alignToFrom=true)");
        Assert.Equal("summarize", call.Name);
        Assert.Equal(2, call.Args.Count);
        var inner = (CallNode)call.Args[0];
        Assert.Equal("sumSeries", inner.Name);
        Assert.Equal("sumSeries(a.*.c, b)", inner.Raw);
        Assert.Equal(new PathNode(20, "a.*.c"), inner.Args[0]);
        Assert.Equal("1h", ((StringNode)call.Args[1]).Value);
        Assert.Equal("func", call.Kwargs[0].Key);
        Assert.Equal("max", ((StringNode)call.Kwargs[0].Value).Value);
        Assert.True(((BoolNode)call.Kwargs[1].Value).Value);
    }

    [Theory]
    [InlineData("scale(a, 2)", 2.0, true)]
    [InlineData("scale(a, -2.5)", -2.5, false)]
    [InlineData("scale(a, 1e3)", 1000.0, false)]
    [InlineData("scale(a,0.5 )", 0.5, false)]
    public void Parses_numbers(string target, double value, bool isInt)
    {
        var n = (NumberNode)((CallNode)TargetParser.Parse(target)).Args[1];
        Assert.Equal(value, n.Value);
        Assert.Equal(isInt, n.IsInteger);
    }

    [Fact]
    public void Number_followed_by_more_path_is_a_path()
    {
        var call = (CallNode)TargetParser.Parse("sumSeries(1.foo.bar)");
        Assert.Equal("1.foo.bar", ((PathNode)call.Args[0]).Path);
    }

    [Fact]
    public void Parses_none_inf_and_pipes()
    {
        var call = (CallNode)TargetParser.Parse("asPercent(a.*, None, 1)");
        Assert.IsType<NoneNode>(call.Args[1]);
        var keep = (CallNode)TargetParser.Parse("keepLastValue(a, inf)");
        Assert.IsType<InfinityNode>(keep.Args[1]);
        var piped = (CallNode)TargetParser.Parse("a.b | scale(2) | alias('x')");
        Assert.Equal("alias", piped.Name);
        Assert.Equal("scale", ((CallNode)piped.Args[0]).Name);
        Assert.Equal("a.b", ((PathNode)((CallNode)piped.Args[0]).Args[0]).Path);
    }

    [Fact]
    public void SeriesByTag_raw_text_is_kept()
    {
        var call = (CallNode)TargetParser.Parse("sumSeries(seriesByTag('name=cpu', 'dc=~e.*'))");
        Assert.Equal("seriesByTag('name=cpu', 'dc=~e.*')", ((CallNode)call.Args[0]).Raw);
    }

    [Theory]
    [InlineData("sumSeries(a.b", "position 13")]
    [InlineData("sumSeries(a.b))", "position 14")]
    [InlineData("scale(a, )", "position 9")]
    [InlineData("a.b.", "position 4")]
    [InlineData("alias(a, 'x)", "unterminated string")]
    [InlineData("f(x=1, y)", "positional argument after keyword")]
    public void Malformed_targets_name_the_position(string target, string expected)
    {
        var e = Assert.Throws<GraphiteInputException>(() => TargetParser.Parse(target));
        Assert.Contains(expected, e.Message);
    }
}

public class AtTimeTests
{
    // 2026-11-23 08:20:00 UTC, a Monday
    private const long Now = 1795422000;

    [Theory]
    [InlineData("now", Now)]
    [InlineData("-1h", Now - 3600)]
    [InlineData("-10min", Now - 600)]
    [InlineData("-10mins", Now - 600)]
    [InlineData("-2d", Now - 2 * 86400)]
    [InlineData("-1w", Now - 7 * 86400)]
    [InlineData("-1mon", Now - 30 * 86400)]
    [InlineData("-1y", Now - 365 * 86400)]
    [InlineData("-30s", Now - 30)]
    [InlineData("now-1h", Now - 3600)]
    [InlineData("1795400000", 1795400000)]
    [InlineData("20261122", 1795305600)] // YYYYMMDD at midnight
    [InlineData("12:30_20261122", 1795305600 + 12 * 3600 + 1800)]
    [InlineData("11/22/26", 1795305600)]
    [InlineData("11/22/2026", 1795305600)]
    [InlineData("midnight", 1795392000)]
    [InlineData("noon", 1795392000 + 12 * 3600)]
    [InlineData("noon yesterday", 1795392000 - 86400 + 12 * 3600)]
    [InlineData("midnight+1h", 1795392000 + 3600)]
    [InlineData("teatime", 1795392000 + 16 * 3600)]
    [InlineData("6pm", 1795392000 + 18 * 3600)]
    [InlineData("9am_tomorrow", 1795392000 + 86400 + 9 * 3600)]
    [InlineData("nov22", 1795305600)]
    [InlineData("sunday", 1795392000 - 86400)]
    [InlineData("monday", 1795392000)]
    public void Parses_like_graphite_web(string input, long expected) => Assert.Equal(expected, AtTime.Parse(input, Now));

    [Theory]
    [InlineData("-1fortnight")]
    [InlineData("blursday")]
    [InlineData("-h")]
    public void Rejects_garbage(string input) => Assert.Throws<GraphiteInputException>(() => AtTime.Parse(input, Now));
}

public class PyFormatTests
{
    [Theory]
    [InlineData(2.5, "2.5")]
    [InlineData(2.0, "2")]
    [InlineData(-3, "-3")]
    [InlineData(1000000, "1e+06")]
    [InlineData(123456, "123456")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(1.0 / 3, "0.333333")]
    public void G_matches_python(double v, string expected) => Assert.Equal(expected, Py.G(v));

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(123.456, "123.456")]
    [InlineData(-42.0, "-42.0")]
    public void Repr_matches_python(double v, string expected) => Assert.Equal(expected, Py.Repr(v));
}
