using System.Buffers;
using System.Text;
using Observe.Collector;
using Observe.Collector.Listeners;
using Observe.Collector.Pipeline;

namespace Observe.Collector.Tests;

public class GraphitePlaintextTests
{
    [Theory]
    [InlineData("servers.web1.load 0.5 1700000000", "servers.web1.load", 0.5, 1700000000)]
    [InlineData("a.b -3 1700000000.9\r", "a.b", -3, 1700000000)]
    [InlineData("  a.b\t1e3   1700000000  ", "a.b", 1000, 1700000000)]
    [InlineData("disk.used;host=web1;dc=ams 42 1700000000", "disk.used;dc=ams;host=web1", 42, 1700000000)]
    public void Parses_valid_lines(string line, string path, double value, long ts)
    {
        Assert.True(GraphitePlaintextParser.TryParseLine(Encoding.UTF8.GetBytes(line), out var p));
        Assert.Equal(new MetricPoint(path, value, ts), p);
    }

    [Theory]
    [InlineData("a.b 1")]
    [InlineData("a.b 1 2 3")]
    [InlineData("a.b nan 1700000000")]
    [InlineData("a.b inf 1700000000")]
    [InlineData("a.b x 1700000000")]
    [InlineData("a.b 1 yesterday")]
    [InlineData(".a 1 1700000000")]
    [InlineData("a;k 1 1700000000")]
    [InlineData("a;=v 1 1700000000")]
    [InlineData("a;k=~v 1 1700000000")]
    [InlineData("")]
    public void Rejects_bad_lines(string line)
    {
        Assert.False(GraphitePlaintextParser.TryParseLine(Encoding.UTF8.GetBytes(line), out _));
    }

    [Fact]
    public void Rejects_invalid_utf8_and_control_bytes()
    {
        Assert.False(GraphitePlaintextParser.TryParseLine([0x61, 0xff, 0xfe, 0x20, 0x31, 0x20, 0x31], out _));
        Assert.False(GraphitePlaintextParser.TryParseLine([0x61, 0x01, 0x20, 0x31, 0x20, 0x31], out _));
    }

    [Fact]
    public void Udp_drop_counter_reads_the_last_column_for_our_port()
    {
        // Format of /proc/net/udp: local 127.0.0.1:8125 is 0100007F:1FBD; drops is the last field.
        const string line = "  512: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3423 2 0000000000000000 17";
        Assert.Equal(17, UdpDropCounter.ParseLine(line, 8125));
        Assert.Equal(0, UdpDropCounter.ParseLine(line, 8126));
    }
}
