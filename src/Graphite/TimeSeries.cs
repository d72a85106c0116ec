using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>
/// graphite-web's render.datalib.TimeSeries: raw values plus a pending consolidation
/// (<see cref="ValuesPerPoint"/>, <see cref="ConsolidationFunc"/>) applied when iterated.
/// </summary>
internal sealed class TimeSeries
{
    public string Name { get; set; }
    public long Start { get; set; }
    public long End { get; set; }
    public long Step { get; set; }

    /// <summary>
    /// The raw values. A plain fetch keeps them in its pooled slot buffer (<see cref="Fetched"/>) until a function reads or
    /// replaces them: <c>/render</c> of stored series writes its JSON straight from those buffers and gives them back
    /// (issue 21: a list of <c>double?</c> per series was 2.3 MB per dashboard request, paid in gen1 collections).
    /// </summary>
    public List<double?> Values
    {
        get => _values ??= Materialise();
        set { _values = value; ReleaseFetched(); }
    }
    private List<double?>? _values;
    private SlotBuffer? _fetched;

    /// <summary>The number of raw values, without materialising a fetched window.</summary>
    public int ValueCount => _values?.Count ?? _fetched?.Length ?? 0;

    /// <summary>The fetched window when the values are still only there (no function has read them), else null.</summary>
    internal SlotBuffer? Fetched => _values == null ? _fetched : null;
    public string ConsolidationFunc { get; set; } = "average";
    public int ValuesPerPoint { get; set; } = 1;
    public double XFilesFactor { get; set; }
    public string PathExpression { get; set; }
    public Dictionary<string, string> Tags { get; set; }
    /// <summary>Drawing options of color()/lineWidth()/alpha() for graph images; not copied, as graphite's copy() does not.</summary>
    public Images.SeriesStyle? Style { get; set; }

    public TimeSeries(string name, long start, long end, long step, IEnumerable<double?> values, double xFilesFactor,
        Dictionary<string, string>? tags = null, string consolidate = "average")
    {
        Name = name;
        Start = start;
        End = end;
        Step = step;
        Values = values.ToList();
        XFilesFactor = xFilesFactor;
        PathExpression = name;
        ConsolidationFunc = consolidate;
        Tags = tags ?? ParseTags(name);
    }

    /// <summary>A series fetched into <paramref name="window"/>, which it owns from now on (back to the pool when materialised or released).</summary>
    public TimeSeries(string name, SlotBuffer window, double xFilesFactor, string pathExpression)
    {
        Name = name;
        Start = window.Start;
        End = window.End;
        Step = window.Step;
        _fetched = window;
        XFilesFactor = xFilesFactor;
        PathExpression = pathExpression;
        Tags = ParseTags(name);
    }

    private List<double?> Materialise()
    {
        var w = _fetched ?? throw new InvalidOperationException($"the values of {Name} were released after the response was written");
        var values = new List<double?>(w.Length);
        System.Runtime.InteropServices.CollectionsMarshal.SetCount(values, w.Length);
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values);
        for (int k = 0; k < span.Length; k++) span[k] = w.Has(k) ? w.Values[k] : null;
        _values = values;
        ReleaseFetched();
        return values;
    }

    /// <summary>Gives the fetched window back to the pool; the series must not be read afterwards unless it was materialised.</summary>
    internal void ReleaseFetched()
    {
        if (_fetched is not { } w) return;
        _fetched = null;
        SlotBuffers.Return(w);
    }

    public static Dictionary<string, string> ParseTags(string name)
    {
        var tags = new Dictionary<string, string> { ["name"] = name };
        // A plain path (every stored series a dashboard fetches) is its own name: no split, no second dictionary.
        if (!name.Contains(';') && !name.StartsWith('~')) return tags;
        if (System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z]+[(].+[)]$", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
            return tags;
        var segments = name.Split(';');
        if (segments[0].Length == 0) return tags;
        var parsed = new Dictionary<string, string>();
        foreach (var seg in segments.Skip(1))
        {
            var kv = seg.Split('=', 2);
            if (kv.Length != 2 || kv[0].Length == 0 || kv[1].Length == 0) return tags;
            parsed[kv[0]] = kv[1];
        }
        var n = segments[0].TrimStart('~');
        if (n.Length == 0) return tags;
        parsed["name"] = n;
        return parsed;
    }

    public void Consolidate(int valuesPerPoint) => ValuesPerPoint = valuesPerPoint;

    /// <summary>Number of points when iterated (after consolidation).</summary>
    public int Count => ValuesPerPoint > 1 ? (ValueCount + ValuesPerPoint - 1) / ValuesPerPoint : ValueCount;

    /// <summary>Iterates as Python's <c>iter(series)</c>: consolidated when valuesPerPoint &gt; 1.</summary>
    public List<double?> Points()
    {
        if (ValuesPerPoint <= 1) return Values;
        var result = new List<double?>(Count);
        var buf = new List<double>();
        int valcnt = 0, nonNull = 0;
        foreach (var x in Values)
        {
            valcnt++;
            if (x is { } v) { buf.Add(v); nonNull++; }
            else if (ConsolidationFunc == "avg_zero") buf.Add(0);
            if (valcnt == ValuesPerPoint)
            {
                result.Add(nonNull > 0 && (double)nonNull / ValuesPerPoint >= XFilesFactor ? Consolidation(buf) : null);
                buf.Clear(); valcnt = 0; nonNull = 0;
            }
        }
        if (valcnt > 0)
            result.Add(nonNull > 0 && (double)nonNull / ValuesPerPoint >= XFilesFactor ? Consolidation(buf) : null);
        return result;
    }

    private double Consolidation(List<double> usable) => ConsolidationFunc switch
    {
        "sum" => PySum(usable),
        "average" or "avg" or "avg_zero" => PySum(usable) / usable.Count,
        "max" => usable.Max(),
        "min" => usable.Min(),
        "first" => usable[0],
        "last" => usable[^1],
        _ => throw new GraphiteInputException($"Invalid consolidation function: '{ConsolidationFunc}'"),
    };

    /// <summary>Python's left-to-right float sum.</summary>
    public static double PySum(IEnumerable<double> values)
    {
        double s = 0;
        foreach (var v in values) s += v;
        return s;
    }

    /// <summary><c>series.datapoints()</c>: (value, timestamp) pairs, zip-truncated.</summary>
    public List<(double? Value, long Timestamp)> Datapoints()
    {
        var pts = Points();
        var step = Step * ValuesPerPoint;
        var result = new List<(double?, long)>();
        var i = 0;
        for (var ts = Start; ts < End + 1 && i < pts.Count; ts += step, i++) result.Add((pts[i], ts));
        return result;
    }

    public TimeSeries Copy(string? name = null, long? start = null, long? end = null, long? step = null, IEnumerable<double?>? values = null)
    {
        var s = new TimeSeries(name ?? Name, start ?? Start, end ?? End, step ?? Step, values ?? Values, XFilesFactor,
            new Dictionary<string, string>(Tags), ConsolidationFunc);
        return s;
    }

    /// <summary>Python's <c>for i, v in enumerate(series): series[i] = f(v)</c> (reads consolidated, writes raw).</summary>
    public void MapInPlace(Func<double?, double?> f)
    {
        var pts = ValuesPerPoint > 1 ? Points() : [.. Values];
        for (var i = 0; i < pts.Count; i++) Values[i] = f(pts[i]);
    }
}

/// <summary>Python formatting helpers so that series names match graphite-web byte for byte.</summary>
internal static class Py
{
    /// <summary>Python <c>repr(float)</c> / <c>str(float)</c>.</summary>
    public static string Repr(double v) => PyFloat.Repr(v);

    /// <summary>Python <c>str()</c> of an evaluated argument value.</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => Repr(d),
        _ => v.ToString() ?? "",
    };

    /// <summary>Python <c>"%g" % v</c>.</summary>
    public static string G(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        if (v == 0) return double.IsNegative(v) ? "-0" : "0";
        var exp = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        // round to 6 significant digits first, which may bump the exponent
        var rounded = double.Parse(v.ToString("E5", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        exp = (int)Math.Floor(Math.Log10(Math.Abs(rounded)));
        if (exp < -4 || exp >= 6)
        {
            var s = v.ToString("E5", CultureInfo.InvariantCulture); // d.dddddE+xxx
            var ePos = s.IndexOf('E');
            var mant = s[..ePos];
            if (mant.Contains('.')) mant = mant.TrimEnd('0').TrimEnd('.');
            var e = int.Parse(s[(ePos + 1)..], CultureInfo.InvariantCulture);
            return $"{mant}e{(e < 0 ? "-" : "+")}{Math.Abs(e):00}";
        }
        var decimals = Math.Max(0, 5 - exp);
        var f = v.ToString("F" + decimals, CultureInfo.InvariantCulture);
        if (f.Contains('.')) f = f.TrimEnd('0').TrimEnd('.');
        return f;
    }

    /// <summary>Python <c>"%d" % v</c> (truncates floats).</summary>
    public static string D(double v) => ((long)Math.Truncate(v)).ToString(CultureInfo.InvariantCulture);

    public static long FloorDiv(long a, long b) { var q = a / b; if (a % b != 0 && ((a < 0) != (b < 0))) q--; return q; }
    public static long Mod(long a, long b) { var m = a % b; return m != 0 && (m < 0) != (b < 0) ? m + b : m; }
}
