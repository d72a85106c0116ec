using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Observe.Collector;
using Observe.Collector.Listeners;
using Observe.Storage.Sinks;

namespace Observe.Bench;

/// <summary>
/// The pickle receiver's decode cost against the plaintext parser on the same points, and against the peer: python3's C
/// unpickler (what carbon's receiver runs, before its own per-point work) on the same frames. Frames are what the
/// carbon sink (and carbon-relay) writes: protocol 2, 500 points each. Decode = whitelist unpickle + reading every point;
/// "+ points" adds the path/value checks and the string per point that the plaintext path also makes.
/// </summary>
internal static class PickleBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var points = 100_000;
        var rounds = 20;
        var batch = new MetricBatch(1_700_000_000, Enumerable.Range(0, points)
            .Select(i => new MetricPoint($"stats.timers.shop.api{i % 97}.endpoint{i}.upper_90", i * 0.37, 1_700_000_000 + i % 60)).ToList());
        var pickled = new ArrayBufferWriter<byte>();
        new CarbonPickleEncoder().Encode(batch, pickled);
        var frames = new List<byte[]>();
        for (var pos = 0; pos < pickled.WrittenCount;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(pickled.WrittenSpan[pos..]);
            frames.Add(pickled.WrittenSpan.Slice(pos + 4, length).ToArray());
            pos += 4 + length;
        }
        var text = new ArrayBufferWriter<byte>();
        new CarbonPlaintextEncoder().Encode(batch, text);
        var lines = text.WrittenSpan.ToArray();
        Console.WriteLine($"pickle bench: {points:N0} points, {frames.Count} frames ({pickled.WrittenCount / 1024} KiB), plaintext {lines.Length / 1024} KiB, " +
                          $"{rounds} rounds, load average {File.ReadAllText("/proc/loadavg").Trim()}");

        var decoder = new PickleDecoder(new PickleLimits(8, 250_000, 100_000));
        double Measure(bool makePoints, out long allocatedPerFrame)
        {
            long sink = 0;
            var sw = new Stopwatch();
            long allocated = 0;
            for (var r = 0; r < rounds + 1; r++)
            {
                var a0 = GC.GetAllocatedBytesForCurrentThread();
                if (r > 0) sw.Start(); // round 0 warms up (JIT, pooled buffers)
                foreach (var f in frames)
                {
                    if (decoder.Decode(f) != PickleError.None) throw new InvalidOperationException("decode failed");
                    for (var i = 0; i < decoder.Count; i++)
                    {
                        if (!decoder.TryGetPoint(f, i, out var path, out var ts, out var value)) throw new InvalidOperationException("bad point");
                        if (makePoints) { if (GraphitePlaintextParser.TryMakePoint(path, value, ts, out var p)) sink += p.Path.Length; }
                        else sink += path.Length;
                    }
                }
                sw.Stop();
                if (r > 0) allocated += GC.GetAllocatedBytesForCurrentThread() - a0;
            }
            allocatedPerFrame = allocated / rounds / frames.Count;
            GC.KeepAlive(sink);
            return points * (double)rounds / sw.Elapsed.TotalSeconds;
        }
        var decodeOnly = Measure(false, out var allocDecode);
        var withPoints = Measure(true, out var allocPoints);

        var swText = new Stopwatch();
        for (var r = 0; r < rounds + 1; r++)
        {
            if (r > 0) swText.Start();
            foreach (var line in lines.AsSpan().Split((byte)'\n'))
            {
                var l = lines.AsSpan()[line];
                if (!l.IsEmpty && !GraphitePlaintextParser.TryParseLine(l, out _)) throw new InvalidOperationException("bad line");
            }
            swText.Stop();
        }
        var plaintext = points * (double)rounds / swText.Elapsed.TotalSeconds;

        // The peer: CPython's C unpickler on the same frames (carbon 1.1.7 calls pickle.Unpickler(...).load() per frame).
        var dir = Path.Combine(Path.GetTempPath(), "observe-pickle-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "frames.bin");
        await File.WriteAllBytesAsync(file, pickled.WrittenSpan.ToArray());
        var script = "import io, pickle, struct, sys, time\n" +
                     "data = open(sys.argv[1], 'rb').read()\nframes = []\npos = 0\n" +
                     "while pos < len(data):\n    n = struct.unpack('!L', data[pos:pos+4])[0]; frames.append(data[pos+4:pos+4+n]); pos += 4 + n\n" +
                     $"best = 0\nfor r in range({rounds + 1}):\n    t = time.perf_counter(); c = 0\n" +
                     "    for f in frames:\n        for (m, (ts, v)) in pickle.Unpickler(io.BytesIO(f)).load(): c += 1\n" +
                     "    el = time.perf_counter() - t\n    if r > 0: best += el\n" +
                     $"print({points} * {rounds} / best)\n";
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(script); psi.ArgumentList.Add(file);
        using var py = Process.Start(psi)!;
        var python = double.Parse((await py.StandardOutput.ReadToEndAsync()).Trim(), CultureInfo.InvariantCulture);
        await py.WaitForExitAsync();
        Directory.Delete(dir, true);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Observe pickle decode: {decodeOnly:N0} points/s ({allocDecode} B allocated per 500-point frame)\n" +
            $"Observe pickle decode + points: {withPoints:N0} points/s ({allocPoints / 500} B per point: the path string and tags)\n" +
            $"Observe plaintext parse (same points): {plaintext:N0} points/s\n" +
            $"python3 C unpickler (carbon's receiver, unpickle + iterate only): {python:N0} points/s"));
        return 0;
    }
}
