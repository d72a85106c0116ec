using Observe.Checks.Plugins;

namespace Observe.Checks.Tests;

/// <summary>Examples from the Nagios plugin development guidelines and the Nagios 3 "plugin output" doc.</summary>
public class PluginOutputTests
{
    [Fact]
    public void First_line_only()
    {
        var o = PluginOutput.Parse("DISK OK - free space: / 3326 MB (56%);\n");
        Assert.Equal("DISK OK - free space: / 3326 MB (56%);", o.Text);
        Assert.Null(o.LongOutput);
        Assert.Empty(o.PerfData);
    }

    [Fact]
    public void First_line_with_perfdata()
    {
        var o = PluginOutput.Parse("DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968");
        Assert.Equal("DISK OK - free space: / 3326 MB (56%);", o.Text);
        var p = Assert.Single(o.PerfData);
        Assert.Equal(new PerfDatum("/", 2643, "MB", "5948", "5958", 0, 5968), p);
    }

    [Fact]
    public void Long_output_and_perfdata_on_several_lines()
    {
        const string raw = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n" +
                           "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n" +
                           "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n" +
                           "/home=69357MB;253404;253409;0;253414 \n/var/log=818MB;970;975;0;980\n";
        var o = PluginOutput.Parse(raw);
        Assert.Equal("DISK OK - free space: / 3326 MB (56%);", o.Text);
        Assert.Equal("/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%); ", o.LongOutput);
        Assert.Equal(["/", "/boot", "/home", "/var/log"], o.PerfData.Select(p => p.Label));
        Assert.Equal([2643d, 68, 69357, 818], o.PerfData.Select(p => p.Value!.Value));
        Assert.Equal(980, o.PerfData[3].Max);
        Assert.Empty(o.PerfDataErrors);
    }

    [Fact]
    public void Quoted_labels_units_undetermined_and_dropped_trailing_fields()
    {
        var o = PluginOutput.Parse("OK | 'in use'=5%;80;90 'it''s'=1c time=0.012s;;;0 load1=U size=12.5KB;;;; 'x y'=-3e2us");
        Assert.Equal(["in use", "it's", "time", "load1", "size", "x y"], o.PerfData.Select(p => p.Label));
        Assert.Equal(new PerfDatum("in use", 5, "%", "80", "90", null, null), o.PerfData[0]);
        Assert.Equal("c", o.PerfData[1].Unit);
        Assert.Equal(new PerfDatum("time", 0.012, "s", null, null, 0, null), o.PerfData[2]);
        Assert.Null(o.PerfData[3].Value);
        Assert.Equal(12.5, o.PerfData[4].Value);
        Assert.Equal(-300, o.PerfData[5].Value);
        Assert.Equal("us", o.PerfData[5].Unit);
    }

    [Fact]
    public void Warn_and_crit_keep_range_syntax()
    {
        var p = Assert.Single(PluginOutput.Parse("OK | temp=25;@10:20;~:30").PerfData);
        Assert.Equal("@10:20", p.Warn);
        Assert.Equal("~:30", p.Crit);
    }

    [Fact]
    public void Bad_items_are_skipped_with_a_reason_and_the_rest_kept()
    {
        var o = PluginOutput.Parse("OK | novalue a=abc 'open=1 b=2");
        Assert.Empty(o.PerfData);
        Assert.Equal(3, o.PerfDataErrors.Count);
        var o2 = PluginOutput.Parse("OK | junk b=2");
        Assert.Equal("b", Assert.Single(o2.PerfData).Label);
    }

    [Fact]
    public void Empty_output() => Assert.Equal("", PluginOutput.Parse("").Text);
}
