using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Observe.Storage.Graphite;

/// <summary>The /render body writers: JSON (buffered and streamed) and CSV, number formatting as Python prints it.</summary>
public static partial class GraphiteApi
{
    /// <summary>renderViewJson, including maxDataPoints consolidation and noNullPoints.</summary>
    internal static string RenderJson(List<TimeSeries> data, RenderRequest req)
    {
        var sb = new StringBuilder("[", 64 + data.Sum(s => s.Values.Count) * 24);
        var first = true;
        if (data.Any(s => s.Values.Count > 0))
        {
            var startTime = data.Min(s => s.Start);
            var endTime = data.Max(s => s.End);
            var timeRange = endTime - startTime;
            foreach (var series in data)
            {
                if (req.MaxDataPoints is { } maxDataPoints)
                {
                    if (maxDataPoints == 1) series.Consolidate(Math.Max(1, series.Values.Count));
                    else
                    {
                        var numberOfDataPoints = (double)timeRange / series.Step;
                        if (maxDataPoints < numberOfDataPoints)
                        {
                            var valuesPerPoint = (int)Math.Ceiling(numberOfDataPoints / maxDataPoints);
                            var secondsPerPoint = valuesPerPoint * series.Step;
                            var nudge = secondsPerPoint + Py.Mod(series.Start, series.Step) - Py.Mod(series.Start, secondsPerPoint);
                            series.Start += nudge;
                            var valuesToLose = (int)(nudge / series.Step);
                            for (var r = 1; r < valuesToLose && series.Values.Count > 0; r++) series.Values.RemoveAt(0);
                            series.Consolidate(valuesPerPoint);
                        }
                    }
                }
                if (!first && !req.NoNullPoints) sb.Append(", ");
                if (!req.NoNullPoints)
                {
                    // Same output as the general path below, without building the datapoint list.
                    first = false;
                    sb.Append("{\"target\": ").Append(PyJson.String(series.Name));
                    sb.Append(", \"tags\": ").Append(PyJson.Object(series.Tags));
                    sb.Append(", \"datapoints\": [");
                    var pts = series.Points();
                    var pstep = series.Step * series.ValuesPerPoint;
                    var j = 0;
                    for (var ts = series.Start; ts < series.End + 1 && j < pts.Count; ts += pstep, j++)
                    {
                        if (j > 0) sb.Append(", ");
                        sb.Append('[');
                        AppendJsonNumber(sb, pts[j]);
                        sb.Append(", ");
                        sb.Append(CultureInfo.InvariantCulture, $"{ts}");
                        sb.Append(']');
                    }
                    sb.Append("]}");
                    continue;
                }
                var dps = series.Datapoints();
                if (req.NoNullPoints)
                {
                    dps = dps.Where(d => d.Value is { } v && !double.IsNaN(v)).ToList();
                    if (dps.Count == 0) continue;
                }
                if (!first) sb.Append(", ");
                first = false;
                sb.Append("{\"target\": ").Append(PyJson.String(series.Name));
                sb.Append(", \"tags\": ").Append(PyJson.Object(series.Tags));
                sb.Append(", \"datapoints\": [");
                for (var i = 0; i < dps.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    sb.Append('[');
                    AppendJsonNumber(sb, dps[i].Value);
                    sb.Append(", ");
                    sb.Append(CultureInfo.InvariantCulture, $"{dps[i].Timestamp}");
                    sb.Append(']');
                }
                sb.Append("]}");
            }
        }
        return sb.Append(']').ToString();
    }

    /// <summary>Answers with at least this many values are formatted series by series on every core.</summary>
    private const int ParallelJsonValues = 20_000;

    /// <summary>
    /// The bytes of <see cref="RenderJsonUtf8"/> for an answer without maxDataPoints/noNullPoints/jsonp, formatted series
    /// by series (on every core when big) and written with a Content-Length: a client that knows the length reads
    /// into one buffer, where a chunked answer of a few MB cost HttpClient ~7 ms more on loopback (measured).
    /// The series' fetched windows go back to the pool once formatted: this is their last reader.
    /// </summary>
    internal sealed class RenderedJson(List<TimeSeries> data) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.ContentType = "application/json";
            if (!HasValues(data))
            {
                ReleaseFetched(data);
                http.Response.ContentLength = 2;
                await http.Response.Body.WriteAsync("[]"u8.ToArray());
                return;
            }
            JsonPart[] parts;
            try { parts = FormatSeries(data); }
            finally { ReleaseFetched(data); }
            try
            {
                long length = 2;
                foreach (var part in parts) length += part.Length;
                http.Response.ContentLength = length;
                var writer = http.Response.BodyWriter;
                writer.Write("["u8);
                // In slices with a flush each: the transport's pipe then holds one slice, not the whole answer (4 MB of its
                // pooled blocks per dashboard request otherwise).
                foreach (var part in parts)
                    for (int at = 0; at < part.Length; at += WriteSlice)
                        await writer.WriteAsync(part.Buffer.AsMemory(at, Math.Min(WriteSlice, part.Length - at)));
                writer.Write("]"u8);
            }
            finally
            {
                foreach (var part in parts) JsonBuffers.Return(part.Buffer);
            }
            await http.Response.BodyWriter.FlushAsync();
        }
    }

    /// <summary>Bytes handed to the transport per flush (the render bench's <c>--slice</c> varies it).</summary>
    internal static int WriteSlice = 64 << 10;

    /// <summary>Gives every series' fetched window back to the pool (<see cref="TimeSeries.ReleaseFetched"/>); the series are not read afterwards.</summary>
    internal static void ReleaseFetched(List<TimeSeries> data)
    {
        foreach (var s in data) s.ReleaseFetched();
    }

    private static bool HasValues(List<TimeSeries> data)
    {
        foreach (var s in data) if (s.ValueCount > 0) return true;
        return false;
    }

    // Render buffers are reused: a 4 MB answer formatted into fresh arrays cost a gen1 collection per request on a heap
    // holding the chunk cache (measured in the render bench: 20 gen1 GCs in 21 requests).
    private static readonly ArrayPool<byte> JsonBuffers = ArrayPool<byte>.Create(maxArrayLength: 64 << 20, maxArraysPerBucket: 16);

    /// <summary>Formatted JSON of a run of consecutive series, in a buffer of <see cref="JsonBuffers"/>.</summary>
    private readonly record struct JsonPart(byte[] Buffer, int Length)
    {
        public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
    }

    private static JsonPart[] FormatSeries(List<TimeSeries> data)
    {
        // Formatting doubles is most of the cost and series are independent: big answers are cut into runs of
        // consecutive series, one per worker, formatted on every core and joined in order.
        long values = 0;
        foreach (var s in data) values += s.ValueCount;
        int runs = values >= ParallelJsonValues ? Math.Min(data.Count, Environment.ProcessorCount * 2) : 1;
        var parts = new JsonPart[runs];
        if (runs == 1) parts[0] = FormatRun(data, 0, data.Count);
        else Parallel.For(0, runs, r => parts[r] = FormatRun(data, (int)((long)data.Count * r / runs), (int)((long)data.Count * (r + 1) / runs)));
        return parts;
    }

    /// <summary>Per point at most ", [" + a number + ", " + a timestamp + "]".</summary>
    private const int PointBound = 8 + PyFloat.MaxLength + 20;

    /// <summary>Series [from, to) as <c>{"target": …, "tags": …, "datapoints": [...]}</c>, each but the very first preceded by ", ".</summary>
    private static JsonPart FormatRun(List<TimeSeries> data, int from, int to)
    {
        long bound = 0;
        for (int i = from; i < to; i++)
        {
            var s = data[i];
            // The head is ASCII (json.dumps' ensure_ascii): at most 6 characters (\uXXXX) for each of the name's and tags'.
            long chars = 48 + s.Name.Length;
            foreach (var (k, v) in s.Tags) chars += 6 + k.Length + v.Length;
            bound += 6 * chars + 4 + (long)s.ValueCount * PointBound;
        }
        var buffer = JsonBuffers.Rent(checked((int)bound));
        var span = buffer.AsSpan();
        var head = new StringBuilder(256);
        int p = 0;
        for (int i = from; i < to; i++)
        {
            var series = data[i];
            head.Clear().Append(i > 0 ? ", {\"target\": " : "{\"target\": ");
            PyJson.Append(head, series.Name);
            head.Append(", \"tags\": ");
            PyJson.AppendObject(head, series.Tags);
            head.Append(", \"datapoints\": [");
            foreach (var chunk in head.GetChunks()) p += Encoding.UTF8.GetBytes(chunk.Span, span[p..]);
            var pstep = series.Step * series.ValuesPerPoint;
            if (series.Fetched is { } w && series.ValuesPerPoint <= 1)
            {
                // Straight from the fetched window: no list of values for a plain fetch.
                var j = 0;
                for (var ts = series.Start; ts < series.End + 1 && j < w.Length; ts += pstep, j++)
                    p += WritePoint(j > 0, w.Has(j) ? w.Values[j] : null, ts, span[p..]);
            }
            else
            {
                var pts = series.Points();
                var j = 0;
                for (var ts = series.Start; ts < series.End + 1 && j < pts.Count; ts += pstep, j++)
                    p += WritePoint(j > 0, pts[j], ts, span[p..]);
            }
            span[p++] = (byte)']'; span[p++] = (byte)'}';
        }
        return new JsonPart(buffer, p);
    }

    /// <summary><c>[value, ts]</c>, preceded by ", " unless first; <paramref name="dst"/> needs <see cref="PointBound"/> bytes.</summary>
    private static int WritePoint(bool comma, double? value, long ts, Span<byte> dst)
    {
        int p = 0;
        if (comma) { dst[p++] = (byte)','; dst[p++] = (byte)' '; }
        dst[p++] = (byte)'[';
        p += WriteJsonNumber(value, dst[p..]);
        dst[p++] = (byte)','; dst[p++] = (byte)' ';
        ts.TryFormat(dst[p..], out var n, default, CultureInfo.InvariantCulture);
        p += n;
        dst[p++] = (byte)']';
        return p;
    }

    /// <summary>
    /// UTF-8 bytes of <see cref="RenderJson"/>, written directly (no intermediate string) when there is no
    /// maxDataPoints/noNullPoints processing; otherwise the encoded string.
    /// </summary>
    internal static byte[] RenderJsonUtf8(List<TimeSeries> data, RenderRequest req)
    {
        if (req.MaxDataPoints != null || req.NoNullPoints) return Encoding.UTF8.GetBytes(RenderJson(data, req));
        if (!HasValues(data)) return "[]"u8.ToArray();
        var parts = FormatSeries(data);
        int total = 2;
        foreach (var x in parts) total += x.Length;
        var result = new byte[total];
        result[0] = (byte)'[';
        int at = 1;
        foreach (var x in parts) { x.Span.CopyTo(result.AsSpan(at)); at += x.Length; JsonBuffers.Return(x.Buffer); }
        result[at] = (byte)']';
        return result;
    }

    /// <summary><see cref="JsonNumber"/> as UTF-8 without allocating; <paramref name="dst"/> needs <see cref="PyFloat.MaxLength"/> bytes.</summary>
    private static int WriteJsonNumber(double? v, Span<byte> dst)
    {
        if (v is not { } d || double.IsNaN(d)) { "null"u8.CopyTo(dst); return 4; }
        if (double.IsInfinity(d)) { var inf = d > 0 ? "1e9999"u8 : "-1e9999"u8; inf.CopyTo(dst); return inf.Length; }
        return PyFloat.WriteRepr(d, dst);
    }

    /// <summary><see cref="JsonNumber"/> appended without building a string.</summary>
    internal static void AppendJsonNumber(StringBuilder sb, double? v)
    {
        Span<byte> buf = stackalloc byte[PyFloat.MaxLength];
        int n = WriteJsonNumber(v, buf);
        Span<char> chars = stackalloc char[PyFloat.MaxLength];
        for (int i = 0; i < n; i++) chars[i] = (char)buf[i];
        sb.Append(chars[..n]);
    }

    internal static string JsonNumber(double? v) => v switch
    {
        null => "null",
        { } d when double.IsNaN(d) => "null",
        { } d when double.IsPositiveInfinity(d) => "1e9999",
        { } d when double.IsNegativeInfinity(d) => "-1e9999",
        { } d => Py.Repr(d),
    };

    internal static string RenderCsv(List<TimeSeries> data)
    {
        var sb = new StringBuilder();
        foreach (var s in data)
        {
            var pts = s.Points();
            for (var i = 0; i < pts.Count; i++)
            {
                var ts = DateTime.UnixEpoch.AddSeconds(s.Start + i * s.Step).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                sb.Append(CsvField(s.Name)).Append(',').Append(ts).Append(',').Append(pts[i] is { } v ? Py.Repr(v) : "").Append("\r\n");
            }
        }
        return sb.ToString();
    }

    private static string CsvField(string f) =>
        f.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + f.Replace("\"", "\"\"") + "\"" : f;
}
