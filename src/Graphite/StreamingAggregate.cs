
namespace Observe.Storage.Graphite;

/// <summary>
/// sumSeries / averageSeries / minSeries / maxSeries / multiplySeries (and sum, avg, aggregate(x, "sum"|"total"|"average"|"avg"|"min"|"max"|"multiply"))
/// over path expressions, folded one series at a time: a fleet-wide aggregate holds one decoded series and the
/// accumulator instead of every input (issue 21). Bit-identical to <see cref="Evaluator.Aggregate"/>: series come in the
/// same order, izip_longest aligns by index, sums add left to right from 0 as Python's sum, min/max keep LINQ's NaN rules.
/// Anything else — other functions as arguments, keyword arguments, inputs of different steps (which need the lcm
/// consolidation of all of them) — takes the materialising path.
/// </summary>
internal static partial class Evaluator
{
    private enum Fold { Sum, Average, Min, Max, Multiply }

    private static object? StreamAggregate(RenderContext ctx, CallNode call, FunctionInfo fn)
    {
        if (call.Kwargs.Count != 0 || call.Args.Count == 0) return null;
        string func;
        Fold fold;
        double xff = ctx.XFilesFactor;
        IEnumerable<TargetNode> inputs = call.Args;
        switch (call.Name)
        {
            case "sumSeries" or "sum": (func, fold) = ("sum", Fold.Sum); break;
            case "averageSeries" or "avg": (func, fold) = ("average", Fold.Average); break;
            case "minSeries": (func, fold) = ("min", Fold.Min); break;
            case "maxSeries": (func, fold) = ("max", Fold.Max); break;
            case "multiplySeries": (func, fold) = ("multiply", Fold.Multiply); break;
            case "aggregate" when call.Args.Count is 2 or 3 && call.Args[1] is StringNode f
                                  && (call.Args.Count == 2 || call.Args[2] is NumberNode):
                func = f.Value;
                switch (func)
                {
                    case "sum" or "total": fold = Fold.Sum; break;
                    case "average" or "avg": fold = Fold.Average; break;
                    case "min": fold = Fold.Min; break;
                    case "max": fold = Fold.Max; break;
                    case "multiply": fold = Fold.Multiply; break;
                    default: return null;
                }
                inputs = [call.Args[0]];
                break;
            default: return null;
        }
        foreach (var a in inputs) if (a is not PathNode) return null;
        // The declaration checks the arguments as on the materialising path (the inputs stand in as empty lists).
        var (bound, _) = ParamBinder.Bind(fn, call, [.. call.Args.Select(a => a is PathNode ? new List<TimeSeries>() : Evaluate(ctx, a))], []);
        if (call.Name == "aggregate" && bound.Count == 3 && bound[2] is { } x) xff = Convert.ToDouble(x, System.Globalization.CultureInfo.InvariantCulture);

        var names = new List<(string Name, string Expr)>();
        foreach (PathNode p in inputs)
        {
            if (ctx.Prefetched != null && !ctx.Prefetched.Contains(p.Path)) continue;
            foreach (var name in PathNames(ctx, p.Path)) names.Add((name, p.Path));
        }
        var acc = new Accumulator(fold);
        if (!FoldAll(ctx, names, acc)) return null;
        return acc.Result(func, xff);
    }

    private sealed class Accumulator(Fold fold)
    {
        private double[] _acc = [];
        private int[] _nonNull = [];
        private int _length, _series;
        private long _start = long.MaxValue, _end = long.MinValue, _step;
        private readonly List<string> _exprs = [];
        private Dictionary<string, string>? _tags;

        /// <summary>Folds one series in; false when its step differs from the others' (the lcm path must take over).</summary>
        public bool Add(string name, string pathExpr, SlotBuffer w)
        {
            if (!AddShape(name, pathExpr, w)) return false;
            FoldSlots(w, 0, w.Length);
            return true;
        }

        /// <summary>Everything of <see cref="Add"/> but the values (<see cref="FoldValues"/>): step, window, names, tags.</summary>
        public bool AddShape(string name, string pathExpr, SlotBuffer w)
        {
            if (_series == 0) _step = w.Step;
            else if (w.Step != _step) return false;
            int n = w.Length;
            if (n > _acc.Length)
            {
                Array.Resize(ref _acc, n);
                Array.Resize(ref _nonNull, n);
                if (fold == Fold.Multiply) Array.Fill(_acc, 1.0, _length, n - _length);
            }
            _length = Math.Max(_length, n);
            _start = Math.Min(_start, w.Start);
            _end = Math.Max(_end, w.End);
            if (!_exprs.Contains(pathExpr)) _exprs.Add(pathExpr);
            // Tags common to all inputs; once none are left (two untagged names) nothing more is parsed per series.
            if (_tags == null) _tags = TimeSeries.ParseTags(name);
            else if (_tags.Count > 0)
            {
                var tags = TimeSeries.ParseTags(name);
                foreach (var k in _tags.Keys.ToList())
                    if (!tags.TryGetValue(k, out var t) || t != _tags[k]) _tags.Remove(k);
            }
            _series++;
            return true;
        }

        /// <summary>
        /// Folds the values of a batch whose shapes <see cref="AddShape"/> took, in series order. On several cores each
        /// takes a range of slots through every series of the batch: every slot still adds its values in series order, so
        /// the result is bit-identical to folding one series after the other.
        /// </summary>
        public void FoldValues(List<SlotBuffer> bufs, bool[] found, int m)
        {
            long points = 0;
            int longest = 0;
            for (int j = 0; j < m; j++)
                if (found[j]) { points += bufs[j].Length; longest = Math.Max(longest, bufs[j].Length); }
            int parts = Math.Min(Environment.ProcessorCount, longest / 2);
            if (points < ParallelFoldMinPoints || parts < 2)
            {
                for (int j = 0; j < m; j++) if (found[j]) FoldSlots(bufs[j], 0, bufs[j].Length);
                return;
            }
            Parallel.For(0, parts, p =>
            {
                int lo = (int)((long)longest * p / parts), hi = (int)((long)longest * (p + 1) / parts);
                for (int j = 0; j < m; j++)
                    if (found[j]) FoldSlots(bufs[j], lo, Math.Min(hi, bufs[j].Length));
            });
        }

        /// <summary>Slots [lo, hi) of one series into the accumulator, one loop per fold (no per-point switch).</summary>
        private void FoldSlots(SlotBuffer w, int lo, int hi)
        {
            var values = w.Values;
            var acc = _acc;
            var nonNull = _nonNull;
            switch (fold)
            {
                // Python's sum starts at 0: the accumulator starts at 0.0 (0.0 + v is the first partial sum).
                case Fold.Sum or Fold.Average:
                    for (int i = lo; i < hi; i++) if (w.Has(i)) { acc[i] += values[i]; nonNull[i]++; }
                    break;
                // The accumulator starts at 1.0 (AddShape fills it): 1.0 * v is the first product.
                case Fold.Multiply:
                    for (int i = lo; i < hi; i++) if (w.Has(i)) { acc[i] *= values[i]; nonNull[i]++; }
                    break;
                // Enumerable.Min: the first NaN is the answer; otherwise a strictly smaller value replaces.
                case Fold.Min:
                    for (int i = lo; i < hi; i++)
                    {
                        if (!w.Has(i)) continue;
                        double v = values[i];
                        if (nonNull[i]++ == 0 || (!double.IsNaN(acc[i]) && (v < acc[i] || double.IsNaN(v)))) acc[i] = v;
                    }
                    break;
                // Enumerable.Max: NaNs are skipped while the running value is NaN; a strictly greater value replaces.
                case Fold.Max:
                    for (int i = lo; i < hi; i++)
                    {
                        if (!w.Has(i)) continue;
                        double v = values[i];
                        if (nonNull[i]++ == 0 || double.IsNaN(acc[i]) || v > acc[i]) acc[i] = v;
                    }
                    break;
            }
        }

        public List<TimeSeries> Result(string func, double xff)
        {
            if (_series == 0) return [];
            var values = new double?[_length];
            for (var i = 0; i < _length; i++)
                // multiply: graphite-web's safeMul is None as soon as one factor is None
                if (Xff(_nonNull[i], _series, xff) && (fold != Fold.Multiply || _nonNull[i] == _series))
                    values[i] = fold == Fold.Average ? _acc[i] / _nonNull[i] : _acc[i];
            var name = $"{func}Series({string.Join(",", _exprs)})";
            var tags = _tags!;
            tags.TryAdd("name", name);
            tags["aggregatedBy"] = func;
            var end = _end - (_end - _start) % _step;
            return [new TimeSeries(name, _start, end, _step, values, xff, tags)];
        }
    }
}
