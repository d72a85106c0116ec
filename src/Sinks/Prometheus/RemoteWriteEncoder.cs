using System.Buffers;
using Observe.Collector;
using Observe.Storage.Sinks.Spool;
using static Observe.Common.BinaryCodec;
using static Observe.Storage.Sinks.Prometheus.ProtobufWriter;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>
/// One flush → one snappy-compressed protobuf <c>WriteRequest</c>, the exact body remote-write posts
/// (so the spool holds wire bytes and a replay costs no re-encoding). Points mapping to the same
/// series are grouped into one <c>TimeSeries</c> with samples in time order; a repeated timestamp keeps
/// the last value, because Prometheus rejects the whole request on a conflicting duplicate.
/// </summary>
internal sealed class RemoteWriteEncoder(PrometheusNameMapper mapper) : IMetricRecordEncoder
{
    // prometheus/prompb/remote.proto and types.proto field numbers.
    private const int WriteRequestTimeseries = 1;
    private const int TimeSeriesLabels = 1, TimeSeriesSamples = 2;
    private const int LabelName = 1, LabelValue = 2;
    private const int SampleValue = 1, SampleTimestamp = 2;

    public void Encode(MetricBatch batch, IBufferWriter<byte> output)
    {
        var series = new Dictionary<string, (PrometheusSeries Series, List<(long Ms, double Value)> Samples)>(batch.Points.Count, StringComparer.Ordinal);
        foreach (var p in batch.Points)
        {
            var s = mapper.Map(p.Path);
            if (s == null) continue;
            if (!series.TryGetValue(s.Key, out var entry)) series[s.Key] = entry = (s, new List<(long, double)>(1));
            entry.Samples.Add((p.Timestamp * 1000, p.Value));
        }

        if (series.Count == 0) return; // nothing to send: no record at all

        var body = new ArrayBufferWriter<byte>(Math.Max(256, batch.Points.Count * 96));
        foreach (var (s, samples) in series.Values)
        {
            if (samples.Count > 1)
            {
                // Stable sort keeps arrival order among equal timestamps, so "last" below is the latest written.
                var ordered = samples.Select((x, i) => (x, i)).OrderBy(t => t.x.Ms).ThenBy(t => t.i).Select(t => t.x).ToList();
                samples.Clear();
                foreach (var x in ordered)
                    if (samples.Count > 0 && samples[^1].Ms == x.Ms) samples[^1] = x; else samples.Add(x);
            }
            WriteTimeSeries(body, s, samples);
        }

        var compressed = output.GetSpan(SnappyBlock.MaxEncodedLength(body.WrittenCount));
        output.Advance(SnappyBlock.Encode(body.WrittenSpan, compressed));
    }

    private static void WriteTimeSeries(IBufferWriter<byte> w, PrometheusSeries s, List<(long Ms, double Value)> samples)
    {
        // Labels sorted by name in byte order, __name__ among them, as the remote-write spec requires.
        var labels = new KeyValuePair<string, string>[s.Labels.Length + 1];
        labels[0] = KeyValuePair.Create("__name__", s.Name);
        s.Labels.CopyTo(labels, 1);
        Array.Sort(labels, (a, b) => string.CompareOrdinal(a.Key, b.Key));

        var size = 0;
        foreach (var (k, v) in labels) size += LengthDelimitedSize(LabelSize(k, v));
        foreach (var (ms, _) in samples) size += LengthDelimitedSize(SampleSize(ms));

        LengthDelimitedHeader(w, WriteRequestTimeseries, size);
        foreach (var (k, v) in labels)
        {
            LengthDelimitedHeader(w, TimeSeriesLabels, LabelSize(k, v));
            String(w, LabelName, k);
            String(w, LabelValue, v);
        }
        foreach (var (ms, value) in samples)
        {
            LengthDelimitedHeader(w, TimeSeriesSamples, SampleSize(ms));
            Double(w, SampleValue, value);
            Int64(w, SampleTimestamp, ms);
        }
    }

    private static int LabelSize(string name, string value) => StringFieldSize(name) + StringFieldSize(value);
    private static int SampleSize(long ms) => 1 + 8 + 1 + VarintSize(unchecked((ulong)ms));
}
