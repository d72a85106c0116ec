namespace Observe.Storage.Graphite;

/// <summary>Functions of graphite-web 1.1.8 that work along time: moving windows, summarize, hitcount, timeShift, gap filling, events.</summary>
internal static partial class Evaluator
{
    private static List<TimeSeries> MovingWindow(Call c, string func, double? xFilesFactor)
    {
        var seriesList = c.Series(0);
        if (seriesList.Count == 0) return [];
        var windowRaw = c.Raw(1, "windowSize");
        long previewSeconds;
        var isInterval = windowRaw is string;
        if (windowRaw is string ws) previewSeconds = Math.Abs(AtTime.ParseOffset(ws));
        else previewSeconds = seriesList.Max(s => s.Step) * c.Int(1, "windowSize");
        var cf = AggFuncs.Get(func);
        var newCtx = c.Ctx.WithWindow(c.Ctx.StartTime - previewSeconds, c.Ctx.EndTime);
        var preview = EvaluateNode(newCtx, c.Node.Args[0]);
        var tagName = "moving" + char.ToUpperInvariant(func[0]) + func[1..].ToLowerInvariant();
        var result = new List<TimeSeries>();
        foreach (var s in preview)
        {
            string newName; long windowPoints;
            if (isInterval) { newName = $"{tagName}({s.Name},\"{windowRaw}\")"; windowPoints = previewSeconds / s.Step; }
            else { newName = $"{tagName}({s.Name},{Py.Str(windowRaw)})"; windowPoints = c.Int(1, "windowSize"); }
            s.Tags[tagName] = Py.Str(windowRaw);
            var vals = new List<double?>();
            var eff = xFilesFactor ?? s.XFilesFactor;
            for (var i = (int)windowPoints; i < s.Values.Count; i++)
            {
                c.Ctx.Budget?.CheckTime(); // each point costs windowPoints steps: quadratic in the worst case
                var nonNull = new List<double?>();
                for (var j = (int)(i - windowPoints); j < i; j++) if (s.Values[j].HasValue) nonNull.Add(s.Values[j]);
                vals.Add(nonNull.Count > 0 && Xff(nonNull.Count, windowPoints, eff) ? cf(nonNull) : null);
            }
            result.Add(s.Copy(name: newName, start: s.Start + previewSeconds, values: vals));
        }
        return result;
    }

    /// <summary>graphite's _summarizeValues: one aggregate per interval from newStart, and the end the intervals reached.</summary>
    private static (List<double?> Values, long End) SummarizeValues(TimeSeries s, Func<IReadOnlyList<double?>, double?> agg, long interval, long newStart, long newEnd)
    {
        var timestamps = new List<long>();
        for (var t = s.Start; t < s.End; t += s.Step) timestamps.Add(t);
        var dps = s.Points();
        var intervalPoints = (double)interval / s.Step;
        var i = 0;
        var numPoints = Math.Min(timestamps.Count, dps.Count);
        var vals = new List<double?>();
        var ts = newStart;
        while (ts < newEnd)
        {
            var st = i; var nonNull = 0;
            while (i < numPoints && timestamps[i] < ts + interval)
            {
                if (timestamps[i] <= ts) st = i;
                if (timestamps[i] >= ts && dps[i] != null) nonNull++;
                i++;
            }
            vals.Add(Xff(nonNull, intervalPoints, s.XFilesFactor) ? agg(dps.GetRange(st, i - st)) : null);
            ts += interval;
        }
        return (vals, ts);
    }

    private static List<TimeSeries> Summarize(Call c)
    {
        var intervalString = c.Str(1, "intervalString");
        var func = c.AggFunc(2, "func", "sum");
        var alignToFrom = c.Bool(3, "alignToFrom", false);
        var interval = AtTime.ParseOffset(intervalString);
        if (interval <= 0) throw new GraphiteInputException("summarize interval must be positive");
        var agg = AggFuncs.Get(func);
        var results = new List<TimeSeries>();
        var seriesList = c.Series(0);
        // A short interval over a long range makes far more points than were read: count them before making any.
        c.Ctx.Budget?.EnsureRoom(seriesList.Sum(s => (s.End - s.Start) / interval + 2), "summarize");
        foreach (var s in seriesList)
        {
            long newStart, newEnd;
            if (alignToFrom) { newStart = s.Start; newEnd = s.End; }
            else { newStart = s.Start - Py.Mod(s.Start, interval); newEnd = s.End - Py.Mod(s.End, interval) + interval; }
            if (s.Step <= 0) throw new GraphiteInputException($"summarize: series {s.Name} has no step");
            var (vals, ts) = SummarizeValues(s, agg, interval, newStart, newEnd);
            if (alignToFrom) newEnd = ts;
            s.Tags["summarize"] = intervalString; s.Tags["summarizeFunction"] = func;
            var name = $"summarize({s.Name}, \"{intervalString}\", \"{func}\"{(alignToFrom ? ", true" : "")})";
            results.Add(s.Copy(name: name, start: newStart, end: newEnd, step: interval, values: vals));
        }
        return results;
    }

    private static List<TimeSeries> Hitcount(Call c)
    {
        var intervalString = c.Str(1, "intervalString");
        var align = c.Bool(2, "alignToInterval", false);
        var interval = AtTime.ParseOffset(intervalString);
        if (interval <= 0) throw new GraphiteInputException("hitcount interval must be positive");
        var seriesList = c.Series(0);
        if (align)
        {
            var s0 = DateTime.UnixEpoch.AddSeconds(c.Ctx.StartTime);
            DateTime ns = interval >= 86400 ? new DateTime(s0.Year, s0.Month, s0.Day, 0, 0, 0, DateTimeKind.Utc)
                : interval >= 3600 ? new DateTime(s0.Year, s0.Month, s0.Day, s0.Hour, 0, 0, DateTimeKind.Utc)
                : interval >= 60 ? new DateTime(s0.Year, s0.Month, s0.Day, s0.Hour, s0.Minute, 0, DateTimeKind.Utc) : s0;
            var newCtx = c.Ctx.WithWindow((long)(ns - DateTime.UnixEpoch).TotalSeconds, c.Ctx.EndTime);
            seriesList = EvaluateNode(newCtx, c.Node.Args[0]);
            foreach (var s in seriesList)
            {
                var intervalCount = Py.FloorDiv(s.End - s.Start, interval);
                s.End = s.Start + intervalCount * interval + interval;
            }
        }
        var results = new List<TimeSeries>();
        c.Ctx.Budget?.EnsureRoom(seriesList.Sum(s => (long)Math.Ceiling((double)(s.End - s.Start) / interval)), "hitcount");
        foreach (var s in seriesList)
        {
            var step = s.Step;
            var bucketCount = (long)Math.Ceiling((double)(s.End - s.Start) / interval);
            var buckets = new List<double>[bucketCount];
            for (var b = 0; b < bucketCount; b++) buckets[b] = [];
            var newStart = s.End - bucketCount * interval;
            var pts = s.Points();
            for (var i = 0; i < pts.Count; i++)
            {
                if (pts[i] is not { } value) continue;
                var startTime = s.Start + i * step;
                var startBucket = Py.FloorDiv(startTime - newStart, interval);
                var startMod = Py.Mod(startTime - newStart, interval);
                var endTime = startTime + step;
                var endBucket = Py.FloorDiv(endTime - newStart, interval);
                var endMod = Py.Mod(endTime - newStart, interval);
                if (endBucket >= bucketCount) { endBucket = bucketCount - 1; endMod = interval; }
                if (startBucket == endBucket)
                {
                    if (startBucket >= 0) buckets[startBucket].Add(value * (endMod - startMod));
                }
                else
                {
                    if (startBucket >= 0) buckets[startBucket].Add(value * (interval - startMod));
                    var hits = value * interval;
                    for (var j = startBucket + 1; j < endBucket; j++) if (j >= 0) buckets[j].Add(hits);
                    if (endMod > 0 && endBucket >= 0) buckets[endBucket].Add(value * endMod);
                }
            }
            var vals = buckets.Select(b => b.Count > 0 ? (double?)TimeSeries.PySum(b) : null).ToList();
            s.Tags["hitcount"] = intervalString;
            var name = $"hitcount({s.Name}, \"{intervalString}\"{(align ? ", true" : "")})";
            results.Add(s.Copy(name: name, start: newStart, step: interval, values: vals));
        }
        return results;
    }

    private static List<TimeSeries> TimeShift(Call c)
    {
        var seriesList = c.Series(0);
        var shift = c.Str(1, "timeShift");
        var resetEnd = c.Bool(2, "resetEnd", true);
        if (shift.Length > 0 && char.IsAsciiDigit(shift[0])) shift = "-" + shift;
        var delta = AtTime.ParseOffset(shift);
        if (seriesList.Count < 1) return [];
        var series = seriesList[0];
        var newCtx = c.Ctx.WithWindow(c.Ctx.StartTime + delta, c.Ctx.EndTime + delta);
        var results = new List<TimeSeries>();
        foreach (var s in EvaluateNode(newCtx, c.Node.Args[0]))
        {
            s.Tags["timeShift"] = shift;
            s.Name = $"timeShift({s.Name}, \"{shift}\")";
            s.End = resetEnd ? series.End : s.End - s.Start + series.Start;
            s.Start = series.Start;
            results.Add(s);
        }
        return results;
    }

    private static List<TimeSeries> KeepLastValue(Call c)
    {
        var l = c.Series(0);
        var limit = c.Raw(1, "limit", false) switch { null => double.PositiveInfinity, long x => x, double x => x, _ => throw new GraphiteInputException("limit must be a number") };
        foreach (var s in l)
        {
            s.Name = $"keepLastValue({s.Name})"; s.PathExpression = s.Name;
            var pts = s.Points().ToList();
            var consecutive = 0; double? last = null;
            for (var i = 0; i < pts.Count; i++)
            {
                if (pts[i] == null) { consecutive++; continue; }
                if (consecutive > 0 && consecutive <= limit && last != null)
                    for (var k = i - consecutive; k < i; k++) s.Values[k] = last;
                consecutive = 0;
                last = pts[i];
            }
            if (consecutive > 0 && consecutive <= limit && last != null)
                for (var k = s.Values.Count - consecutive; k < s.Values.Count; k++) s.Values[k] = last;
        }
        return l;
    }

    private static List<TimeSeries> TransformNull(Call c)
    {
        var l = c.Series(0);
        var dflt = c.Double(1, "default", 0);
        var refRaw = c.Raw(2, "referenceSeries", false);
        var refSeries = refRaw as List<TimeSeries>;
        List<double?>? defaults = null;
        if (refSeries is { Count: > 0 })
            defaults = Rows(refSeries).Select(r => r.Any(v => v != null) ? (double?)dflt : null).ToList();
        foreach (var s in l)
        {
            s.Tags["transformNull"] = c.Has(1, "default") ? Py.Repr(dflt) : "0";
            if (refSeries is { Count: > 0 }) s.Tags["referenceSeries"] = "1";
            s.Name = refSeries is { Count: > 0 } ? $"transformNull({s.Name},{Py.G(dflt)},referenceSeries)" : $"transformNull({s.Name},{Py.G(dflt)})";
            s.PathExpression = s.Name;
            var pts = s.Points();
            List<double?> values;
            if (defaults is { Count: > 0 })
            {
                var n = Math.Max(pts.Count, defaults.Count);
                values = new List<double?>(n);
                for (var i = 0; i < n; i++) values.Add((i < pts.Count ? pts[i] : null) ?? (i < defaults.Count ? defaults[i] : null));
            }
            else values = pts.Select(v => v ?? dflt).Select(v => (double?)v).ToList();
            s.Values = s.Values.Concat(values).Skip(values.Count).ToList();
        }
        return l;
    }

    private static List<TimeSeries> Events(Call c)
    {
        var tags = c.Rest(0).Select(t => t as string ?? throw new GraphiteInputException("events() tags must be strings")).ToList();
        var name = "events(\"" + string.Join("\", \"", tags) + "\")";
        var start = c.Ctx.StartTime; var end = c.Ctx.EndTime;
        var points = end - start;
        c.Ctx.Budget?.EnsureRoom(points, "events"); // one point per second of the window
        var values = new double?[points];
        if (c.Ctx.Events != null)
        {
            var filter = tags is ["*"] ? null : tags;
            foreach (var e in c.Ctx.Events.Find(start, end, filter, null))
            {
                var off = e.When - start;
                if (off < 0 || off >= points) continue;
                values[off] = (values[off] ?? 0) + 1;
            }
        }
        return [new TimeSeries(name, start, end, 1, values, c.Ctx.XFilesFactor, consolidate: "sum")];
    }
}
