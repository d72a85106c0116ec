using System.Text;

namespace Observe.Integration;

/// <summary>
/// The differential StatsD corpus: two parts (two flushes), every Etsy rule, no h/d/unknown types,
/// no DogStatsD events (Observe's documented deviations), and nothing that crashes Etsy.
/// </summary>
internal static class StatsdCorpus
{
    public static int LineCount(byte[][] packets) =>
        packets.Sum(p => Encoding.UTF8.GetString(p).Split('\n').Count(l => l.Length > 0));

    private static byte[][] Pack(IEnumerable<string> lines, int perPacket)
    {
        var list = lines.ToList();
        var packets = new List<byte[]>();
        for (var i = 0; i < list.Count; i += perPacket)
            packets.Add(Encoding.UTF8.GetBytes(string.Join('\n', list.Skip(i).Take(perPacket))));
        return [.. packets];
    }

    private static readonly string[] Singles1 =
    [
        // counters, sample rates, JS Number() forms
        "c.basic:1|c", "c.basic:2|c", "c.basic:3|c|@0.5", "c.rate:1|c|@0.1", "c.float:1.5|c", "c.neg:-3|c",
        "c.plus:+4|c", "c.exp:1e2|c", "c.hex:0x10|c", "c.sp: 5 |c", "c.rate2:2|c|@0.25|extra", "c.ratesp:1|c|@0.5 ",
        "c.rateexp:1|c|@1e-1", "c.ratedot:1|c|@.5", "c.ratedot2:1|c|@5.", "c.frac:0.1|c", "c.frac:0.2|c",
        "c.typesp:1| c", "c.cr:1|c\r", "c.bigrate:3|c|@2",
        // bad lines
        "c.novalue:|c", "c.badrate:1|c|@", "c.badrate2:1|c|@-0.5", "c.badrate3:1|c|0.5", "c.badrate4:1|c|@abc",
        "c.badrate5:1|c|", "c.nan:NaN|c", "c.abc:abc|c", "nocolon", "c.notype:5", "c.empty:", "c.badexp:1e|c",
        "c.dots:1.2.3|c", "s.cr:abc|s\r", "g.bad:|g", "g.bad2:abc|g", "t.neg:-1|ms", "t.neg2:-0.5|ms",
        "t.bad:abc|ms", "t.badrate:1|ms|@x", "|c", ":|",
        // timers
        "t.multi:1|ms:2|ms:3|ms", "t.zero:0|ms", "t.float:0.5|ms", "t.single:42|ms",
        "t.even:100|ms", "t.even:200|ms", "t.even:300|ms", "t.even:400|ms", "t.b:100|ms|@0.1", "t.sampled:5|ms|@0.5",
        "t.sampled:7|ms", "t.cr:-5|ms\r", "t.plus:+3|ms", "t.negzero:-0.0|ms", "t.dup:5|ms", "t.dup:5|ms",
        // gauges and the delta rule
        "g.a:10|g", "g.a:+5|g", "g.a:-3|g", "g.zero:0|g", "g.zero:-5|g", "g.neg:-7|g", "g.neg:+2|g",
        "g.rate:3|g|@0.1", "g.exp:1e3|g", "g.spaceplus:10|g", "g.spaceplus: +5|g", "g.float:1.25|g", "g.float:+0.25|g",
        "g.tozero:4|g", "g.tozero:-4|g", "g.tozero:+9|g", "g.persist:77|g", "g.ttl:5|g",
        // sets
        "s.a:1|s", "s.a:2|s", "s.a:1|s", "s.a:foo|s", "s.empty:|s", "s.b:x|s|@0.5", "s.colon:a:b|s", "s.num:01|s", "s.num:1|s",
        "s.persist:q|s",
        // multi-sample lines
        "m.multi:1|c:2|ms:3|g:x|s", "m.bad:1|c:x|c:2|c", "m.gauge:5|g:+1|g:-2|g",
        // sanitising
        "san/it ize:1|c", "foo+bar:1|c", "tab\tkey:1|c", "multi   space:1|c", "unicodé:1|c", "weird!@#$%^&*()key:1|c",
        "nbsp\u00a0key:1|c", "a/b/c:5|ms", "x y z:7|g", "set name:m|s", "trail :1|c", "under_score-dash.dot:1|c",
        // tags
        "tagged:1|c|#env:prod,region:eu", "tagged.t:5|ms|#a:b", "tagged.t:15|ms|#a:b", "tagged.g:5|g|#x:y:z",
        "tagged.s:v|s|#k;v:w", "tagged.empty:1|c|#", "tagged.novalue:1|c|#flag", "tagged2:1|c|#a:b|#c:d",
        "semi;tag=v:1|c", "tagged.r:1|c|@0.5|#a:b", "tagged.sp:1|c|#a b:c d", "tagged.many:2|c|#a:1,b:2,,c",
        "tagged.sl:1|c|#p:a/b", "tagged.cr:1|c|#a:b\r",
    ];

    private static readonly string[] Singles2 =
    [
        "c.basic:10|c", "c.part2only:7|c|@0.5", "g.a:+1|g", "g.zero:+5|g", "g.neg:-1|g", "g.new2:-3|g", "g.new2:+1|g",
        "t.even:1|ms", "t.part2:9|ms:8|ms:7|ms:6|ms", "s.a:1|s", "s.a:3|s", "s.part2:z|s",
        "tagged:5|c|#env:prod,region:eu", "tagged:5|c|#region:eu,env:prod", "m.bad:x|c", "bad line two", "c.p2bad:1|c|@@1",
        "g.ttl:6|g", "c.p2:1|c\n\n\nc.p2:2|c", "t.a:1000|ms", "t.a:2000|ms|@0.5",
    ];

    public static byte[][] Part1()
    {
        var lines = new List<string>(Singles1);
        for (var i = 1; i <= 50; i++) lines.Add($"t.a:{i * 1.5 - 3 + (i % 3) * 0.25}|ms");
        for (var i = 0; i < 30; i++) lines.Add($"c.loop{i % 10}:{i}|c{(i % 4 == 0 ? "|@0.5" : "")}");
        for (var i = 0; i < 40; i++) lines.Add($"s.big:member{i % 25}|s");
        for (var i = 0; i < 20; i++) lines.Add($"g.loop{i % 5}:{(i % 2 == 0 ? "+" : "-")}{i}|g");
        for (var i = 0; i < 12; i++) lines.Add($"t.hist{i % 3}:{i * 37 % 1100}|ms");
        var packets = new List<byte[]>(Pack(lines, 7));
        // packet shapes: one line per packet, trailing newline, empty lines, invalid UTF-8 in a key
        packets.Add("single.packet:1|c"u8.ToArray());
        packets.Add("trailing.nl:1|c\n"u8.ToArray());
        packets.Add("\n\nempty.lines:2|c\n\n"u8.ToArray());
        packets.Add([.. "bad"u8, 0xff, 0xfe, .. "utf:1|c\nok.after:1|c"u8]);
        packets.Add([.. "trunc"u8, 0xe2, 0x82, .. ".seq:3|ms"u8]);
        return [.. packets];
    }

    public static byte[][] Part2()
    {
        var lines = new List<string>(Singles2);
        for (var i = 0; i < 30; i++) lines.Add($"c.loop{i % 5}:{i}|c");
        for (var i = 0; i < 20; i++) lines.Add($"t.hist{i % 2}:{i * 53 % 1300}|ms|@0.5");
        for (var i = 0; i < 10; i++) lines.Add($"s.big:member{i}|s");
        return Pack(lines, 5);
    }
}
