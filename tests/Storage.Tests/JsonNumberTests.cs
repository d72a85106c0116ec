using System.Diagnostics;
using System.Globalization;
using System.Text;
using FsCheck.Xunit;
using Observe.Storage.Graphite;
using Xunit;

namespace Observe.Storage.Tests;

public class JsonNumberTests
{
    /// <summary>
    /// The oracle for <see cref="PyFloat"/>: .NET's shortest round-trip "R" digits (a different algorithm) laid out as
    /// Python does, written independently of PyFloat.
    /// </summary>
    private static string ReprViaDotNet(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsPositiveInfinity(v)) return "inf";
        if (double.IsNegativeInfinity(v)) return "-inf";
        if (v == 0) return double.IsNegative(v) ? "-0.0" : "0.0";
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        // Python switches to exponent notation when exp < -4 or exp >= 16
        var exp = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        var digits = r.TrimStart('-');
        var ePos = digits.IndexOfAny(['E', 'e']);
        var mantissa = ePos >= 0 ? digits[..ePos] : digits;
        var sig = mantissa.Replace(".", "").TrimStart('0').TrimEnd('0');
        if (sig.Length == 0) sig = "0";
        // recompute exponent from the R string to avoid log10 rounding at boundaries
        if (ePos >= 0) exp = int.Parse(digits[(ePos + 1)..], CultureInfo.InvariantCulture) + (mantissa.IndexOf('.') is var dp and >= 0 ? dp - 1 : mantissa.Length - 1);
        else
        {
            var dot = mantissa.IndexOf('.');
            var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
            if (intPart.TrimStart('0').Length > 0) exp = intPart.TrimStart('0').Length - 1;
            else exp = -(mantissa[(dot + 1)..].TakeWhile(c => c == '0').Count() + 1);
        }
        var neg = v < 0 ? "-" : "";
        if (exp < -4 || exp >= 16)
        {
            var m = sig.Length > 1 ? sig[0] + "." + sig[1..] : sig;
            return $"{neg}{m}e{(exp < 0 ? "-" : "+")}{Math.Abs(exp):00}";
        }
        if (exp >= sig.Length - 1) return neg + sig + new string('0', exp - sig.Length + 1) + ".0";
        if (exp >= 0) return neg + sig[..(exp + 1)] + "." + sig[(exp + 1)..];
        return neg + "0." + new string('0', -exp - 1) + sig;
    }


    [Property(MaxTest = 5000)]
    public bool PyFloatEqualsDotNetShortestDigitsLaidOutAsPython(double d, int num, byte den, ulong raw)
    {
        foreach (var v in new[] { d, num / (double)(den + 1), BitConverter.Int64BitsToDouble((long)raw), num, num * 1e-4, num * 1e9, num * 1e-300 })
            if (PyFloat.Repr(v) != ReprViaDotNet(v)) return false;
        return true;
    }

    /// <summary>Differential against the real thing: python3's repr of 200 000 doubles (random bits, decimals, quotients, edges).</summary>
    [Trait("Category", "Peer")]
    [Fact]
    public async Task Py_float_equals_python3_repr()
    {
        var rnd = new Random(7);
        var values = new List<double> { 0.0, -0.0, 1e16, 1e15, 9999999999999998.0, 0.0001, 0.00001, 5e-324, double.MaxValue, double.Epsilon,
            2.2250738585072014e-308, 1.0 / 3, 2.0 / 3, 0.1, 0.2, 0.3, 100, 123456789012345678, -1.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity };
        while (values.Count < 200_000)
        {
            int k = values.Count % 4;
            double v = k == 0 ? BitConverter.Int64BitsToDouble(rnd.NextInt64())
                : k == 1 ? Math.Round(rnd.NextDouble() * Math.Pow(10, rnd.Next(-8, 20)), rnd.Next(0, 6))
                : k == 2 ? rnd.Next(1, 100_000) / (double)rnd.Next(1, 1000) * Math.Pow(10, rnd.Next(-7, 18))
                : rnd.Next(1, 5000) / 6.0;
            values.Add(rnd.Next(2) == 0 ? -v : v);
        }
        var psi = new ProcessStartInfo("python3", ["-c", "import sys,struct\nfor l in sys.stdin: print(repr(struct.unpack('<d', struct.pack('<q', int(l)))[0]))"])
        { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var py = Process.Start(psi)!;
        var output = py.StandardOutput.ReadToEndAsync();
        foreach (var v in values) py.StandardInput.WriteLine(BitConverter.DoubleToInt64Bits(v).ToString(CultureInfo.InvariantCulture));
        py.StandardInput.Close();
        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await py.WaitForExitAsync();
        Assert.Equal(values.Count, lines.Length);
        var mismatches = values.Select((v, i) => (v, python: lines[i], ours: PyFloat.Repr(v))).Where(x => x.python != x.ours).Take(5).ToList();
        Assert.True(mismatches.Count == 0, string.Join("; ", mismatches.Select(m => $"python {m.python} vs ours {m.ours}")));
    }

    /// <summary>Target names and tags are written as python3's json.dumps writes them (graphite-web's bytes).</summary>
    [Fact]
    public async Task Py_json_equals_python3_json_dumps()
    {
        string[] strings = ["stats.timers.a.mean", "a<b>&'c", "caf\u00e9", "emoji \ud83d\ude00", "del\u007f", "tab\t nl\n cr\r", "q\"uote", "back\\slash", "ctl\u0001\b\f", "~ !"];
        var psi = new ProcessStartInfo("python3", ["-c", "import sys,json\nfor l in sys.stdin:\n    s = json.loads(l)\n    print(json.dumps(s))\n    print(json.dumps({'name': s, 'k': s + 'x'}))"])
        { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var py = Process.Start(psi)!;
        var output = py.StandardOutput.ReadToEndAsync();
        foreach (var str in strings) py.StandardInput.WriteLine(System.Text.Json.JsonSerializer.Serialize(str));
        py.StandardInput.Close();
        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await py.WaitForExitAsync();
        Assert.Equal(strings.Length * 2, lines.Length);
        for (int i = 0; i < strings.Length; i++)
        {
            Assert.Equal(lines[2 * i], PyJson.String(strings[i]));
            Assert.Equal(lines[2 * i + 1], PyJson.Object(new Dictionary<string, string> { ["name"] = strings[i], ["k"] = strings[i] + "x" }));
        }
    }

    [Property(MaxTest = 300)]
    public bool Utf8RenderEqualsStringRender(double[] values, int[] nulls, bool noNull, bool mdp)
    {
        var vals = values.Select((v, i) => nulls.Contains(i) ? null : (double?)v).ToList();
        var data = new List<TimeSeries> { new("a.b", 1000, 1000 + vals.Count * 10, 10, vals, 0), new("c;k=v", 1000, 1000 + vals.Count * 10, 10, vals.AsEnumerable().Reverse(), 0) };
        var req = new GraphiteApi.RenderRequest(["a.b"], 1000, 2000, 2000, "json", mdp ? 3 : null, noNull, 0, null);
        var expected = Encoding.UTF8.GetBytes(GraphiteApi.RenderJson(data, req));
        var data2 = new List<TimeSeries> { new("a.b", 1000, 1000 + vals.Count * 10, 10, vals, 0), new("c;k=v", 1000, 1000 + vals.Count * 10, 10, vals.AsEnumerable().Reverse(), 0) };
        return GraphiteApi.RenderJsonUtf8(data2, req).AsSpan().SequenceEqual(expected);
    }

    /// <summary>Big answers (formatted in parallel, written with a Content-Length) are byte-for-byte the string render.</summary>
    [Fact]
    public async Task Big_render_in_parallel_with_content_length_equals_string_render()
    {
        List<TimeSeries> Data() => [.. Enumerable.Range(0, 40).Select(k => new TimeSeries($"big.s{k}", 1000, 1000 + 800 * 10, 10,
            Enumerable.Range(0, 800).Select(i => (i + k) % 7 == 0 ? null : (double?)(k % 3 == 0 ? i : i / 7.0 + k)).ToList(), 0))];
        var req = new GraphiteApi.RenderRequest(["big.*"], 1000, 9000, 9000, "json", null, false, 0, null);
        var expected = Encoding.UTF8.GetBytes(GraphiteApi.RenderJson(Data(), req));
        Assert.Equal(expected, GraphiteApi.RenderJsonUtf8(Data(), req));
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        var body = new MemoryStream();
        http.Response.Body = body;
        await new GraphiteApi.RenderedJson(Data()).ExecuteAsync(http);
        Assert.Equal("application/json", http.Response.ContentType);
        Assert.Equal(expected.Length, http.Response.ContentLength);
        Assert.Equal(expected, body.ToArray());
    }
}
