using System.Text;
using FsCheck.Xunit;
using Observe.Storage.Graphite;
using Xunit;

namespace Observe.Storage.Tests;

public class JsonNumberTests
{
    [Property(MaxTest = 2000)]
    public bool FastPathEqualsPythonRepr(double d, int num, byte den, ulong raw)
    {
        foreach (var v in new double?[] { d, num / (double)(den + 1), BitConverter.Int64BitsToDouble((long)raw), num, num * 1e-4, num * 1e9, null })
        {
            var sb = new StringBuilder();
            GraphiteApi.AppendJsonNumber(sb, v);
            if (sb.ToString() != GraphiteApi.JsonNumber(v)) return false;
        }
        return true;
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

    /// <summary>Big answers (formatted in parallel, streamed series by series) are byte-for-byte the string render.</summary>
    [Fact]
    public async Task BigRenderInParallelAndStreamedEqualsStringRender()
    {
        List<TimeSeries> Data() => [.. Enumerable.Range(0, 40).Select(k => new TimeSeries($"big.s{k}", 1000, 1000 + 800 * 10, 10,
            Enumerable.Range(0, 800).Select(i => (i + k) % 7 == 0 ? null : (double?)(k % 3 == 0 ? i : i / 7.0 + k)).ToList(), 0))];
        var req = new GraphiteApi.RenderRequest(["big.*"], 1000, 9000, 9000, "json", null, false, 0, null);
        var expected = Encoding.UTF8.GetBytes(GraphiteApi.RenderJson(Data(), req));
        Assert.Equal(expected, GraphiteApi.RenderJsonUtf8(Data(), req));
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        var body = new MemoryStream();
        http.Response.Body = body;
        await new GraphiteApi.StreamedRenderJson(Data()).ExecuteAsync(http);
        Assert.Equal("application/json", http.Response.ContentType);
        Assert.Equal(expected, body.ToArray());
    }
}
