using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>graphite-web 1.1.8's ParamTypes (functions/params.py); the JSON name is the member's name in camelCase.</summary>
internal enum ParamType
{
    Any, AggFunc, AggOrSeriesFunc, Boolean, Date, Float, Integer, Interval, IntOrInf, IntOrInterval,
    Node, NodeOrTag, Series, SeriesList, SeriesLists, String, Tag,
}

/// <summary>One declared parameter, as graphite-web's <c>Param</c>: <paramref name="Options"/> are those listed besides the type's own.</summary>
internal sealed record Param(string Name, ParamType Type, bool Required = false, object? Default = null, bool Multiple = false,
    object?[]? Options = null, object[]? Suggestions = null)
{
    public string TypeName { get; } = char.ToLowerInvariant(Type.ToString()[0]) + Type.ToString()[1..];
}

/// <summary>
/// One series function: graphite-web's <c>func.group</c>, <c>func.params</c>, docstring summary and Python signature, and the
/// named method that evaluates it. <paramref name="Aggregator"/> marks the functions graphite-web offers as a groupByNode callback.
/// </summary>
internal sealed record FunctionInfo(string Name, string Group, string Description, Param[] Params, string Signature, bool Aggregator,
    Func<Call, object?> Invoke)
{
    /// <summary>graphite-web's <c>Param.options</c>: the declared ones plus the type's, sorted as <c>sort(key=str)</c>.</summary>
    public static IReadOnlyList<object?> OptionsOf(Param p) => p.Type switch
    {
        ParamType.AggFunc => Sorted(p.Options, AggFuncOptions.Value),
        ParamType.AggOrSeriesFunc => Sorted(p.Options, AggOrSeriesFuncOptions.Value),
        _ => p.Options ?? [],
    };

    private static readonly Lazy<object?[]> AggFuncOptions = new(() => Sorted(null, AggFuncs.Names));
    private static readonly Lazy<object?[]> AggOrSeriesFuncOptions =
        new(() => Sorted(null, AggFuncs.Names.Concat(Evaluator.Functions.Values.Where(f => f.Aggregator).Select(f => f.Name))));

    private static object?[] Sorted(object?[]? declared, IEnumerable<object?> type) =>
        [.. (declared ?? []).Concat(type).Distinct().OrderBy(Py.Str, StringComparer.Ordinal)];
}

/// <summary>
/// graphite-web's <c>validateParams</c> as with ENFORCE_INPUT_VALIDATION on, for types: the evaluated arguments are checked against
/// the declared parameters and converted as its validators convert them (an integer for a float parameter becomes a float).
/// A missing required parameter, one too many, an unknown keyword or a value of the wrong type is the caller's error, answered
/// with 400 before the function runs.
/// </summary>
internal static class ParamBinder
{
    public static (List<object?> Args, Dictionary<string, object?> Kwargs) Bind(FunctionInfo f, CallNode node, List<object?> args, Dictionary<string, object?> kwargs)
    {
        var ps = f.Params;
        GraphiteInputException Bad(string what) => new($"{what} for function \"{f.Name}\" (at position {node.Position})");
        List<Param> argParams, kwargParams;
        if (args.Count + kwargs.Count > ps.Length)
        {
            if (ps.Length == 0 || !ps[^1].Multiple) throw Bad("Too many parameters specified");
            argParams = [.. ps]; kwargParams = [];
        }
        else { argParams = ps[..args.Count].ToList(); kwargParams = ps[args.Count..].ToList(); }

        var validArgs = new List<object?>(args.Count);
        for (var i = 0; i < args.Count; i++)
            validArgs.Add(Validate(f, i < argParams.Count ? argParams[i] : argParams[^1], args[i], Bad));
        var validKwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in kwargParams)
        {
            if (!kwargs.TryGetValue(p.Name, out var v) || v == null)
            {
                if (p.Required) throw Bad($"Missing required parameter \"{p.Name}\"");
                continue;
            }
            validKwargs[p.Name] = Validate(f, p, v, Bad);
        }
        var unexpected = kwargs.Keys.Where(k => !validKwargs.ContainsKey(k)).ToList();
        if (unexpected.Count > 0)
        {
            // graphite-web's Python takes the keyword as its signature spells it, which for a few parameters differs from
            // the metadata (timeShift: alignDST vs alignDst): a dashboard written against either spelling works.
            var spelled = SignatureNames(f.Signature);
            foreach (var k in unexpected)
            {
                var i = Array.IndexOf(spelled, k);
                if (i < args.Count || i >= ps.Length || validKwargs.ContainsKey(ps[i].Name) || kwargs[k] == null) continue;
                validKwargs[ps[i].Name] = Validate(f, ps[i], kwargs[k], Bad);
            }
            unexpected = unexpected.Where(k => Array.IndexOf(spelled, k) is var i && (i < args.Count || i >= ps.Length || !validKwargs.ContainsKey(ps[i].Name))).ToList();
            if (unexpected.Count > 0) throw Bad("Unexpected keyword arguments: " + string.Join(", ", unexpected));
        }
        return (validArgs, validKwargs);
    }

    /// <summary>The parameter names of a Python signature such as <c>timeShift(seriesList, timeShift, resetEnd=True, alignDST=False)</c>.</summary>
    private static string[] SignatureNames(string signature)
    {
        int open = signature.IndexOf('('), close = signature.LastIndexOf(')');
        if (open < 0 || close <= open) return [];
        return signature[(open + 1)..close].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.TrimStart('*').Split('=')[0].Trim()).ToArray();
    }

    private static object? Validate(FunctionInfo f, Param p, object? value, Func<string, GraphiteInputException> bad)
    {
        if (value == null && (p.Default != null || !p.Required)) return null;
        // A value outside the listed options goes on to the function, as graphite-web (which by default only logs the mismatch)
        // passes it: legendValue ignores an unknown type, dashboards rely on that; consolidateBy or an aggFunc refuse theirs.
        return Convert(p.Type, value) is var (ok, converted) && ok
            ? converted
            : throw bad($"Invalid \"{p.TypeName}\" value specified for parameter \"{p.Name}\": {Repr(value)}");
    }

    /// <summary>The type's validator (params.py): (false, _) where it raises.</summary>
    private static (bool Ok, object? Value) Convert(ParamType type, object? v) => type switch
    {
        ParamType.SeriesList or ParamType.Series => (v is List<TimeSeries>, v),
        // mapSeries' list of lists, or one list (each series its own list)
        ParamType.SeriesLists => (v is List<TimeSeries> or List<List<TimeSeries>>, v),
        ParamType.Float => ToFloat(v) is { } d ? (true, d) : (false, null),
        ParamType.Integer or ParamType.Node => ToInteger(v) is { } l ? (true, l) : (false, null),
        ParamType.IntOrInf => ToInteger(v) is { } l ? (true, l) : ToFloat(v) is double.PositiveInfinity ? (true, double.PositiveInfinity) : (false, null),
        ParamType.Boolean => ToBoolean(v) is { } b ? (true, b) : (false, null),
        ParamType.Interval => (v is string s && IsInterval(s), v),
        // aggFunc and aggOrSeriesFunc are checked by their options; the rest have no validator in graphite-web
        _ => (true, v),
    };

    private static double? ToFloat(object? v) => v switch
    {
        double d => d,
        long l => l,
        bool b => b ? 1 : 0,
        string s => s.Trim().ToLowerInvariant() switch
        {
            "inf" or "+inf" or "infinity" or "+infinity" => double.PositiveInfinity,
            "-inf" or "-infinity" => double.NegativeInfinity,
            "nan" or "+nan" or "-nan" => double.NaN,
            var t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
        },
        _ => null,
    };

    // Python int(): a float is refused (validateInteger), a string of digits is read
    private static long? ToInteger(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        string s => long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : null,
        _ => null,
    };

    private static bool? ToBoolean(object? v) => v switch
    {
        bool b => b,
        string s when s.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
        string s when s.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
        string => null,
        long l => l switch { 0 => false, 1 => true, _ => null },
        double d => d switch { 0 => false, 1 => true, _ => null },
        List<TimeSeries> list => list.Count > 0,
        _ => null,
    };

    private static bool IsInterval(string s)
    {
        try { AtTime.ParseOffset(s); return true; }
        catch (Exception e) when (e is GraphiteInputException or FormatException or OverflowException) { return false; }
    }

    private static string Repr(object? v) => v switch
    {
        string s => "'" + s + "'",
        List<TimeSeries> l => $"a series list of {l.Count}",
        _ => Py.Str(v),
    };
}
