namespace Observe.Storage;

/// <summary>
/// A reusable window of slots for folding many series (issue 21, <see cref="ISeriesReader.FetchInto"/>): slot i holds a value iff <see cref="Has"/>; nothing is
/// allocated per series once the buffer has grown to the window (a stamp per slot instead of clearing it).
/// </summary>
public sealed class SlotBuffer
{
    public long Start, End, Step;
    public int Length;
    public double[] Values = [];
    private int[] _stamp = [];
    private int _gen;
    /// <summary>The reader's own scratch, kept with the buffer so a reused buffer allocates nothing per series (the
    /// embedded store keeps its chunk lists here); only the reader that filled the buffer reads it.</summary>
    public object? ReaderScratch;

    public bool Has(int i) => _stamp[i] == _gen;

    public void Set(int i, double v)
    {
        Values[i] = v;
        _stamp[i] = _gen;
    }

    public void Reset(long start, long end, long step, int length)
    {
        (Start, End, Step, Length) = (start, end, step, length);
        if (Values.Length < length)
        {
            Values = new double[length];
            _stamp = new int[length];
            _gen = 0;
        }
        if (++_gen == int.MaxValue) { Array.Clear(_stamp); _gen = 1; }
    }

    /// <summary>Copies a whole window (the reader's <see cref="ISeriesReader.Fetch"/> answer) into the buffer.</summary>
    public void CopyFrom(SeriesWindow w)
    {
        Reset(w.Start, w.End, w.Step, w.Values.Length);
        for (int i = 0; i < w.Values.Length; i++) if (w.Values[i] is { } v) Set(i, v);
    }
}
