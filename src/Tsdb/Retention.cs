using System.Globalization;

namespace Observe.Storage.Tsdb;

internal readonly record struct Archive(long Step, long Retention)
{
    public long Points => Retention / Step;
}

/// <summary>One parsed storage-schemas rule: archives finest first.</summary>
internal sealed class Schema
{
    public required string Name { get; init; }
    public required Archive[] Archives { get; init; }
    public long MaxRetention => Archives[^1].Retention;
    public long CoarsestStep => Archives[^1].Step;

    /// <summary>Parses <c>10s:6h,1m:7d,10m:5y</c> (also whisper's <c>60:1440</c> = step seconds : points).</summary>
    public static Schema Parse(string name, string retentions)
    {
        var list = new List<Archive>();
        foreach (var raw in retentions.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split(':');
            if (parts.Length != 2) throw new FormatException($"bad retention '{raw}'");
            long step = ParseSpan(parts[0]);
            long ret = char.IsDigit(parts[1][^1]) ? step * long.Parse(parts[1], CultureInfo.InvariantCulture) : ParseSpan(parts[1]);
            if (step <= 0 || ret < step) throw new FormatException($"bad retention '{raw}'");
            list.Add(new Archive(step, ret - ret % step));
        }
        if (list.Count == 0) throw new FormatException("no archives");
        for (int i = 1; i < list.Count; i++)
        {
            if (list[i].Step <= list[i - 1].Step || list[i].Step % list[i - 1].Step != 0)
                throw new FormatException($"'{retentions}': each coarser precision must be a multiple of the finer one");
            if (list[i].Retention <= list[i - 1].Retention)
                throw new FormatException($"'{retentions}': coarser archives must retain longer");
        }
        return new Schema { Name = name, Archives = [.. list] };
    }

    private static long ParseSpan(string s)
    {
        s = s.Trim();
        int i = 0;
        while (i < s.Length && char.IsDigit(s[i])) i++;
        long n = long.Parse(s[..i], CultureInfo.InvariantCulture);
        string unit = s[i..].ToLowerInvariant();
        return n * unit switch
        {
            "" or "s" or "sec" or "second" or "seconds" => 1,
            "m" or "min" or "minute" or "minutes" => 60,
            "h" or "hour" or "hours" => 3600,
            "d" or "day" or "days" => 86400,
            "w" or "week" or "weeks" => 604800,
            "y" or "year" or "years" => 31536000,
            _ => throw new FormatException($"bad unit in '{s}'"),
        };
    }
}

internal enum AggMethod { Average, Sum, Min, Max, Last }

internal sealed record Aggregation(AggMethod Method, double XFilesFactor)
{
    public static AggMethod ParseMethod(string s) => s.Trim().ToLowerInvariant() switch
    {
        "average" or "avg" => AggMethod.Average,
        "sum" => AggMethod.Sum,
        "min" => AggMethod.Min,
        "max" => AggMethod.Max,
        "last" => AggMethod.Last,
        _ => throw new FormatException($"unknown aggregationMethod '{s}'"),
    };

    /// <summary>
    /// Whisper's __propagate for one coarse slot: null when no fine slot is known or the known fraction
    /// is below xFilesFactor; else the aggregate of the known values (in time order).
    /// </summary>
    public double? Aggregate(ReadOnlySpan<double?> fine)
    {
        int known = 0;
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity, last = 0;
        foreach (var v in fine)
        {
            if (v is not double d) continue;
            known++; sum += d; last = d;
            if (d < min) min = d;
            if (d > max) max = d;
        }
        if (known == 0 || (double)known / fine.Length < XFilesFactor) return null;
        return Method switch
        {
            AggMethod.Average => sum / known,
            AggMethod.Sum => sum,
            AggMethod.Min => min,
            AggMethod.Max => max,
            _ => last,
        };
    }

    /// <summary>Rolls fine slots (step <paramref name="fineStep"/>, aligned) up to coarse slots of <paramref name="coarseStep"/>.</summary>
    public double?[] Rollup(double?[] fine, long fineStep, long coarseStep)
    {
        int ratio = (int)(coarseStep / fineStep);
        var coarse = new double?[fine.Length / ratio];
        for (int j = 0; j < coarse.Length; j++) coarse[j] = Aggregate(fine.AsSpan(j * ratio, ratio));
        return coarse;
    }
}

/// <summary>First-match-wins rule tables from <see cref="StorageOptions"/>.</summary>
internal sealed class RuleSet
{
    // Re null: the pattern matches every name (".*", the usual catch-all), so it is not run per series.
    private readonly (NamePattern? Re, Schema Schema)[] _schemas;
    private readonly (NamePattern? Re, Aggregation Agg)[] _aggs;
    private static readonly Schema DefaultSchema = Schema.Parse("default", "10s:6h,1m:7d,10m:5y");
    private static readonly Aggregation DefaultAgg = new(AggMethod.Average, 0.5);

    public RuleSet(StorageOptions o)
    {
        _schemas = [.. o.Schemas.Select(r => (NamePattern.Of(r.Pattern), Schema.Parse(r.Name, r.Retentions)))];
        _aggs = [.. o.Aggregation.Select(r => (NamePattern.Of(r.Pattern), new Aggregation(Aggregation.ParseMethod(r.AggregationMethod), r.XFilesFactor)))];
        _kinds = new SeriesKind?[(_schemas.Length + 1) * (_aggs.Length + 1)];
        SchemaFingerprint = Observe.Common.Crc32.Compute(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', o.Schemas.Select(r => r.Pattern + '\t' + r.Retentions))));
    }

    /// <summary>
    /// The schema rules as written (patterns, retentions): head points are placed by them (slot, archive), so a head checkpoint
    /// written under other rules is not loaded (its rows are replayed under the new ones).
    /// </summary>
    public uint SchemaFingerprint { get; }

    private readonly SeriesKind?[] _kinds;

    public Schema SchemaFor(string name)
    {
        foreach (var (re, s) in _schemas) if (re == null || re.IsMatch(name)) return s;
        return DefaultSchema;
    }

    public Aggregation AggregationFor(string name)
    {
        foreach (var (re, a) in _aggs) if (re == null || re.IsMatch(name)) return a;
        return DefaultAgg;
    }

    /// <summary>
    /// The schema and aggregation rule of <paramref name="name"/> as one shared object per distinct (schema rule, aggregation
    /// rule) outcome: a million series of a few kinds hold one reference each, and the pair is built once per kind.
    /// Not thread-safe: the store calls it under its lock.
    /// </summary>
    public SeriesKind KindFor(string name)
    {
        int si = _schemas.Length, ai = _aggs.Length;
        for (int i = 0; i < _schemas.Length; i++) if (_schemas[i].Re?.IsMatch(name) != false) { si = i; break; }
        for (int i = 0; i < _aggs.Length; i++) if (_aggs[i].Re?.IsMatch(name) != false) { ai = i; break; }
        int key = si * (_aggs.Length + 1) + ai;
        return _kinds[key] ??= new SeriesKind(si < _schemas.Length ? _schemas[si].Schema : DefaultSchema, ai < _aggs.Length ? _aggs[ai].Agg : DefaultAgg);
    }
}

/// <summary>What a series' rules resolved to (<see cref="RuleSet.KindFor"/>): shared by every series with the same outcome.</summary>
internal sealed record SeriesKind(Schema Schema, Aggregation Agg);
