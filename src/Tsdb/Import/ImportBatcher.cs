namespace Observe.Storage.Import;

/// <summary>
/// Packs whisper files into request bodies of at most about <c>batchBytes</c>: many small files per request, a big file
/// split by archive and, within an archive, into day-aligned slices (so an aggregated coarse slot never straddles two
/// requests). A body lists the files whose last part it carries: those are done once the server acknowledged it.
/// </summary>
internal sealed class ImportBatcher(int batchBytes)
{
    internal sealed record Body(byte[] Bytes, List<string> Completed, long Points);

    private const long Day = 86400;
    private readonly Queue<Body> _ready = new();
    private MemoryStream _current = NewStream();
    private List<string> _files = [];
    private long _points;

    private static MemoryStream NewStream()
    {
        var s = new MemoryStream();
        s.Write(ImportWire.Magic);
        return s;
    }

    private bool Empty => _current.Length == ImportWire.Magic.Length;

    public void Add(string file, string name, byte[] bytes)
    {
        var header = WhisperHeader.Read(bytes);
        var steps = header.Archives.Select(a => a.SecondsPerPoint).ToArray();
        var archives = new List<(long Step, long[] Ts, double[] Vs)>(steps.Length);
        foreach (var a in header.Archives)
        {
            var ts = new long[a.Points];
            var vs = new double[a.Points];
            int n = WhisperHeader.ReadPoints(bytes, a, ts, vs);
            Array.Sort(ts, vs, 0, n);
            archives.Add((a.SecondsPerPoint, ts[..n], vs[..n]));
        }
        long total = archives.Sum(a => (long)a.Ts.Length);
        int size = ImportWire.SizeOf(name, steps.Length, [.. archives.Select(a => (a.Step, a.Ts.Length))]);
        if (!Empty && _current.Length + size > batchBytes) Seal();
        if (size <= batchBytes || archives.Count == 0)
        {
            ImportWire.Write(_current, name, steps, [.. archives.Select(a => (a.Step, (ReadOnlyMemory<long>)a.Ts, (ReadOnlyMemory<double>)a.Vs))]);
            _points += total;
            _files.Add(file);
            return;
        }
        // Too big for one request: one body per slice.
        int maxPoints = Math.Max(1, (batchBytes - ImportWire.SizeOf(name, steps.Length, [(0, 0)])) / 12);
        foreach (var (step, ts, vs) in archives)
        {
            for (int start = 0; start < ts.Length;)
            {
                int end = Math.Min(ts.Length, start + maxPoints);
                if (end < ts.Length)
                {
                    long dayStart = ts[end] - ts[end] % Day;
                    int e = end;
                    while (e > start && ts[e - 1] >= dayStart) e--;
                    if (e > start) end = e;
                }
                ImportWire.Write(_current, name, steps, [(step, ts.AsMemory(start, end - start), vs.AsMemory(start, end - start))]);
                _points += end - start;
                start = end;
                Seal();
            }
        }
        // The file is complete with its last slice's body.
        var last = _ready.Count > 0 ? _ready.Last() : null;
        last?.Completed.Add(file);
    }

    private void Seal()
    {
        if (Empty) return;
        _ready.Enqueue(new Body(_current.ToArray(), _files, _points));
        _current = NewStream();
        _files = [];
        _points = 0;
    }

    /// <summary>The bodies ready to send (with <paramref name="final"/> also the partly filled one).</summary>
    public IEnumerable<Body> Take(bool final)
    {
        if (final) Seal();
        while (_ready.TryDequeue(out var b)) yield return b;
    }
}
