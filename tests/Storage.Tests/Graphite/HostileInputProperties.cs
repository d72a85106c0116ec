using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Observe.Collector;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Issue 15: generated targets over the whole grammar (every registered function, paths with globs and tags, numbers,
/// strings, intervals, keywords, pipes, nesting past storage.render.maxDepth) and their random mutations, evaluated
/// against the real store under small budgets. Each one evaluates or ends in a 400-class error; none exceeds the
/// budgets of depth, time, points produced or bytes allocated. Globs match exactly as the regex translation they
/// replaced did, on generated patterns and names. ~10 s in all.
/// </summary>
public sealed class HostileInputProperties : IDisposable
{
    private const long Now = 1_800_000_000;
    private static readonly RenderLimitOptions Limits = new() { MaxPoints = 200_000, MaxPointsRead = 2_000_000, MaxPointsProduced = 2_000_000, TimeoutSeconds = 5, MaxDepth = 64 };
    /// <summary>What one request may allocate in all (read and produced points, their series, names, intermediate rows).</summary>
    private const long MaxAllocatedBytes = 600_000_000;

    private readonly TimeSeriesStore _store;
    private readonly GraphiteEventStore _events = GraphiteEventStore.InMemory();

    public HostileInputProperties()
    {
        var o = TestStore.Options(retentions: "10s:1d,1m:30d,1h:5y");
        _store = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        var points = new List<MetricPoint>();
        foreach (var name in new[] { "hist.host0.cpu", "hist.host1.cpu", "hist.host2.mem", "a.b", "a.c.d", "x;k=v;dc=east", "x;k=w;dc=west" })
            for (var t = Now - 3 * 86400; t < Now; t += 600) points.Add(new MetricPoint(name, (t / 600 % 17) - 3, t));
        _store.WriteAsync(new MetricBatch(Now, points), default).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose() { _store.Dispose(); _events.Dispose(); }

    // ---------------- the target grammar ----------------

    private static readonly string[] FunctionNames = [.. Evaluator.Functions.Keys.Order(StringComparer.Ordinal), "seriesByTag", "noSuchFunction"];

    private static Gen<string> PathGen() =>
        from n in Gen.Choose(1, 4)
        from parts in Gen.Elements("hist", "host0", "host1", "cpu", "mem", "a", "b", "c", "d", "*", "h*", "{host0,host1}", "host[0-9]", "?",
            "*a*a*a*b", "{a,{b,c}}", "[!h]*", "x;k=v", "nothing", "x").ArrayOf(n)
        select string.Join(".", parts);

    private static Gen<string> LiteralGen() => Gen.OneOf(
        Gen.Elements("1s", "1min", "10s", "1h", "1d", "-5y", "5y", "0s", "-1s", "2w", "sum", "avg", "average", "max", "min", "last", "median",
            "multiply", "diff", "stddev", "range", "first", "foo", "", "*", "k=v", "name=~x.*", "dc!=east", "(a|b)+", "\\1").Select(s => $"\"{s}\""),
        Gen.Elements("0", "1", "-1", "2", "3", "-3", "0.5", "1e300", "-1e300", "1000000000", "100000000", "9e15", "1e-300"),
        Gen.Choose(-100_000, 100_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Elements("None", "true", "false", "inf", "-inf"));

    private static Gen<string> ExprGen(int depth)
    {
        if (depth <= 0) return PathGen();
        var arg = Gen.Frequency((3, PathGen()), (3, LiteralGen()), (2, ExprGen(depth - 1)));
        var call =
            from name in Gen.Elements(FunctionNames)
            from n in Gen.Choose(0, 4)
            from args in arg.ArrayOf(n)
            from kw in Gen.Frequency((4, Gen.Constant("")), (1, arg.Select(a => ", xFilesFactor=" + a)), (1, arg.Select(a => ", func=" + a)))
            select n == 0 && kw.Length > 0 ? $"{name}({kw[2..]})" : $"{name}({string.Join(", ", args)}{kw})";
        var pipe =
            from inner in ExprGen(depth - 1)
            from name in Gen.Elements(FunctionNames)
            from a in arg
            select $"{inner}|{name}({a})";
        return Gen.Frequency((1, PathGen()), (4, call), (2, pipe));
    }

    /// <summary>Chains deeper than the bound, in both spellings.</summary>
    private static Gen<string> DeepGen() =>
        from n in Gen.Choose(50, 200)
        from piped in ArbMap.Default.GeneratorFor<bool>()
        from fn in Gen.Elements("scale", "sumSeries", "movingAverage", "timeShift", "offset")
        let arg = fn switch { "scale" or "offset" => ",1", "movingAverage" => ",2", "timeShift" => ",\"1h\"", _ => "" }
        select piped ? "hist.*.cpu" + string.Concat(Enumerable.Repeat($"|{fn}({arg.TrimStart(',')})", n))
                     : string.Concat(Enumerable.Repeat(fn + "(", n)) + "hist.*.cpu" + string.Concat(Enumerable.Repeat(arg + ")", n));

    /// <summary>Random damage: cut short, a stray grammar character inserted, or a character dropped.</summary>
    private static Gen<string> Mutate(Gen<string> targets) =>
        from t in targets
        from kind in Gen.Choose(0, 4)
        from at in Gen.Choose(0, 1_000_000)
        from ch in Gen.Elements("(", ")", ",", "|", "'", "\"", "{", "}", "[", "]", "=", "\\", " ", ";", "~", "\0", "é")
        let i = t.Length == 0 ? 0 : at % t.Length
        select kind switch
        {
            0 => t[..i],
            1 => t.Insert(i, ch),
            2 when t.Length > 0 => t.Remove(i, 1),
            _ => t,
        };

    private static readonly Gen<(string Target, string From)> Requests =
        from target in Gen.Frequency((6, Mutate(Gen.Sized(s => ExprGen(Math.Min(6, 1 + s / 20))))), (1, DeepGen()))
        from window in Gen.Elements("-1h", "-1d", "-30d", "-5y")
        select (target, window);

    /// <summary>The exceptions the HTTP layer answers with 400 (GraphiteApi's Guard); anything else would be a 500 or worse.</summary>
    private static bool IsClientError(Exception e) =>
        e is GraphiteInputException or FormatException or ArithmeticException or ArgumentException or RegexMatchTimeoutException;

    [Property(MaxTest = 400, QuietOnSuccess = true)]
    public Property Generated_targets_evaluate_or_are_refused_within_the_budgets() =>
        Prop.ForAll(Requests.ToArbitrary(), r =>
        {
            var (target, fromSpec) = r;
            var from = AtTime.Parse(fromSpec, Now);
            var sw = Stopwatch.StartNew();
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            RenderBudget? budget = null;
            List<TimeSeries>? result = null;
            Exception? error = null;
            try
            {
                // GraphiteApi.Evaluate without its catch-all, so that an internal error shows as what it is.
                var node = TargetParser.Parse(target, Limits.MaxDepth);
                budget = new RenderBudget(Limits);
                var ctx = new RenderContext(from, Now, Now, 0, _store, _events, Evaluator.PathExpressions([node]), budget);
                result = Evaluator.EvaluateTarget(ctx, node);
            }
            catch (Exception e) { error = e; }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            string Show() => $"target {(target.Length > 300 ? target[..300] + "…" : target)} from {fromSpec}: " +
                             (error != null ? $"{error.GetType().Name}: {error.Message}" : $"{result!.Count} series");
            if (error != null && !IsClientError(error)) throw new Xunit.Sdk.XunitException("not a 400-class error: " + Show() + "\n" + error);
            if (sw.Elapsed > TimeSpan.FromSeconds(Limits.TimeoutSeconds + 2)) throw new Xunit.Sdk.XunitException($"took {sw.Elapsed}: " + Show());
            if (allocated > MaxAllocatedBytes) throw new Xunit.Sdk.XunitException($"allocated {allocated} bytes: " + Show());
            // (a refused read counts the window that tripped the limit, so check the counters of answered requests)
            if (error == null && budget != null && (budget.Read > Limits.MaxPointsRead || budget.HeldPeak > Limits.MaxPoints || budget.Produced > Limits.MaxPointsProduced))
                throw new Xunit.Sdk.XunitException($"budget overrun: read {budget.Read}, produced {budget.Produced}: " + Show());
            if (result != null && result.Sum(s => (long)s.Values.Count) > Limits.MaxPoints + Limits.MaxPointsProduced)
                throw new Xunit.Sdk.XunitException("answer larger than the budgets: " + Show());
            if (error is GraphiteLimitException { Key: "storage.render.maxDepth" } && CountDepth(target) <= Limits.MaxDepth)
                throw new Xunit.Sdk.XunitException("refused as too deep although it is not: " + Show());
            return true;
        });

    /// <summary>Upper bound of the nesting a target text can have: open parentheses outside quotes, plus pipes.</summary>
    private static int CountDepth(string target)
    {
        int depth = 0, max = 0, pipes = 0;
        char quote = '\0';
        foreach (var c in target)
        {
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            if (c is '\'' or '"') quote = c;
            else if (c == '(') max = Math.Max(max, ++depth);
            else if (c == ')') depth--;
            else if (c == '|') pipes++;
        }
        return max + pipes;
    }

    // ---------------- globs ----------------

    private static readonly Gen<(string Pattern, string Name)> GlobCases =
        from pl in Gen.Choose(0, 12)
        from pattern in Gen.Elements('a', 'b', 'a', 'b', '*', '?', '[', ']', '!', '^', '-', '{', '}', ',', '\\').ArrayOf(pl)
        from nl in Gen.Choose(0, 12)
        from name in Gen.Elements('a', 'b', '-', '^', '!', ',', '{', '}', '[', ']', '\\').ArrayOf(nl)
        select (new string(pattern), new string(name));

    /// <summary>The regex translation globs used before (kept here as the oracle), run by the non-backtracking engine.</summary>
    private static bool RegexOracle(string p, string node)
    {
        if (!Glob.HasWildcards(p)) return p == node;
        var sb = new StringBuilder("^");
        int depth = 0;
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    // fnmatch's rule (graphite-web): a ']' first in the class (after an optional '!') is a member.
                    int from = i + 1;
                    if (from < p.Length && p[from] is '!' or '^') from++;
                    if (from < p.Length && p[from] == ']') from++;
                    int end = from < p.Length ? p.IndexOf(']', from) : -1;
                    if (end < 0) { sb.Append(@"\["); break; }
                    var body = p.Substring(i + 1, end - i - 1);
                    sb.Append('[');
                    if (body.StartsWith('!') || body.StartsWith('^')) { sb.Append('^'); body = body[1..]; }
                    sb.Append(body.Replace(@"\", @"\\").Replace("[", @"\[").Replace("]", @"\]").Replace("^", @"\^"));
                    sb.Append(']');
                    i = end;
                    break;
                case '{': depth++; sb.Append("(?:"); break;
                case '}' when depth > 0: depth--; sb.Append(')'); break;
                case ',' when depth > 0: sb.Append('|'); break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        while (depth-- > 0) sb.Append(')');
        sb.Append('$');
        Regex re;
        try { re = new Regex(sb.ToString(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking); }
        catch (ArgumentException) { return p == node; }
        return re.IsMatch(node);
    }

    [Trait("Category", "Slow")]
    [Property(MaxTest = 20000, QuietOnSuccess = true)]
    public Property Globs_match_as_the_regex_translation_did() =>
        Prop.ForAll(GlobCases.ToArbitrary(), c =>
        {
            var expected = RegexOracle(c.Pattern, c.Name);
            var actual = Glob.IsMatch(c.Pattern, c.Name);
            if (expected != actual) throw new Xunit.Sdk.XunitException($"glob '{c.Pattern}' on '{c.Name}': {actual}, the regex said {expected}");
            return true;
        });

    /// <summary>Found by the property above (1 run in ~6): a ']' first in a class is a member, as fnmatch has it.</summary>
    [Theory]
    [InlineData("[]!?]*", "]a", true)]
    [InlineData("[]!?]*", "?b", true)]
    [InlineData("[]!?]*", "a", false)]
    [InlineData("[!]]x", "ax", true)]
    [InlineData("[!]]x", "]x", false)]
    [InlineData("?[^]a-a*^]", "![", true)]
    [InlineData("?[^]a-a*^]", "!a", false)]
    public void A_bracket_first_in_a_class_is_a_member(string pattern, string name, bool matches) =>
        Assert.Equal(matches, Glob.IsMatch(pattern, name));

    [Property(MaxTest = 200, QuietOnSuccess = true)]
    public Property Long_globs_on_long_names_cost_at_most_name_times_pattern() =>
        Prop.ForAll((
            from terms in Gen.Choose(1, 60)
            from sep in Gen.Elements("*a", "*a?", "*{a,b}", "*[ab]", "?*")
            from nameLength in Gen.Choose(1, 255)
            select (string.Concat(Enumerable.Repeat(sep, terms)) + "*c", new string('a', nameLength))).ToArbitrary(), c =>
        {
            var sw = Stopwatch.StartNew();
            var glob = Glob.Compile(c.Item1);
            for (var i = 0; i < 100; i++) glob.IsMatch(c.Item2);
            // 100 matches of ≤ 255 characters against ≤ 600 pattern states: milliseconds when linear, hours when backtracking.
            if (sw.Elapsed > TimeSpan.FromSeconds(2)) throw new Xunit.Sdk.XunitException($"'{c.Item1}' on {c.Item2.Length} chars took {sw.Elapsed}");
            return !glob.IsMatch(c.Item2);
        });
}
