using System.Collections;
using System.Globalization;
using System.Reflection;
using Observe.Common;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Observe.Host.Config;

/// <summary>One thing wrong with a configuration: the key path, where it stands, and what is wrong.</summary>
public sealed record ConfigProblem(string Source, int Line, int Column, string KeyPath, string Message)
{
    public override string ToString() => Line > 0
        ? $"{Source}:{Line}:{Column}: {KeyPath}: {Message}"
        : $"{Source}: {KeyPath}: {Message}";
}

/// <summary>
/// Binds YAML onto the configuration classes by walking the document, so that every problem (unknown
/// key, wrong type) is reported at once with its key path and line, instead of stopping at the first.
/// Keys are camelCase in YAML and matched case-insensitively; environment variables
/// <c>OBSERVE__Section__Key=value</c> override the file (list items by index: <c>OBSERVE__Auth__Tokens__0__Token</c>).
/// Any string key <c>x</c> can also be given as <c>xFile</c>: the path of a file holding the value (a systemd
/// credential, a Docker secret), so every secret of every stage gets files and the environment without the stage knowing.
/// </summary>
public static class ConfigBinder
{
    // Where each key stood in the file being bound, so that validation problems can name a line too.
    [ThreadStatic] private static Dictionary<string, (int Line, int Column)>? t_positions;
    // Values that must never be echoed: everything read from an xFile and every value of a secret-named key.
    [ThreadStatic] private static HashSet<string>? t_secrets;

    /// <summary>The suffix that turns a string key into "read the value from this file".</summary>
    public const string FileSuffix = "File";

    public static (ObserveConfig Config, List<ConfigProblem> Problems) Load(string? path, IDictionary? environment = null)
    {
        t_positions = new Dictionary<string, (int, int)>(StringComparer.OrdinalIgnoreCase);
        t_secrets = new HashSet<string>(StringComparer.Ordinal);
        var config = new ObserveConfig();
        var problems = new List<ConfigProblem>();
        try
        {
            if (path != null)
            {
                if (!File.Exists(path))
                {
                    problems.Add(new ConfigProblem(path, 0, 0, "(file)", "file not found"));
                    return (config, problems);
                }
                BindYaml(File.ReadAllText(path), path, config, problems);
            }
            ApplyEnvironment(environment ?? Environment.GetEnvironmentVariables(), config, problems);
            ConfigValidator.Validate(config, path ?? "(defaults)", problems, t_positions);
            return (config, Redact(problems, t_secrets));
        }
        finally
        {
            t_positions = null;
            t_secrets = null;
        }
    }

    /// <summary>
    /// Only what a client command needs to find a running Observe: the <c>http</c> section and its <c>OBSERVE__Http__…</c>
    /// overrides. The other sections (checks, alerting routes, schemas: the bulk of a real config) are neither bound nor
    /// validated, so a client call starts faster and is not refused for a problem that is not its own.
    /// </summary>
    public static (HttpOptions Http, List<ConfigProblem> Problems) LoadHttp(string? path, IDictionary? environment = null)
    {
        var config = new ObserveConfig();
        var problems = new List<ConfigProblem>();
        var source = path ?? "(defaults)";
        if (path != null)
        {
            if (!File.Exists(path)) return (config.Http, [new ConfigProblem(path, 0, 0, "(file)", "file not found")]);
            var stream = new YamlStream();
            try { stream.Load(new StringReader(File.ReadAllText(path))); }
            catch (YamlException e) { return (config.Http, [new ConfigProblem(path, (int)e.Start.Line, (int)e.Start.Column, "(syntax)", e.InnerException?.Message ?? e.Message)]); }
            if (stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode root)
                foreach (var (k, v) in root.Children)
                    if (k is YamlScalarNode { Value: { } key } && key.Equals("http", StringComparison.OrdinalIgnoreCase))
                        config.Http = (HttpOptions?)BindNode(v, typeof(HttpOptions), config.Http, "http", path, problems) ?? config.Http;
        }
        var httpOnly = new Hashtable();
        foreach (DictionaryEntry e in environment ?? Environment.GetEnvironmentVariables())
            if (((string)e.Key).StartsWith("OBSERVE__Http__", StringComparison.OrdinalIgnoreCase)) httpOnly[e.Key] = e.Value;
        ApplyEnvironment(httpOnly, config, problems);
        if (config.Http.Port is < 1 or > 65535) problems.Add(new ConfigProblem(source, 0, 0, "http.port", $"port {config.Http.Port} is not one a client can reach"));
        if (!System.Net.IPAddress.TryParse(config.Http.Address, out _)) problems.Add(new ConfigProblem(source, 0, 0, "http.address", $"'{config.Http.Address}' is not an IP address"));
        return (config.Http, problems);
    }

    /// <summary>
    /// True for keys whose values are secrets (passwords, tokens, routing and API keys). Their values are never
    /// put into a problem message; stages only need to name such options plainly (<c>password</c>, <c>routingKey</c>).
    /// </summary>
    public static bool IsSecretKey(string name)
    {
        var n = name.ToLowerInvariant();
        return n.Contains("password") || n.Contains("secret") || n.Contains("token") || n.EndsWith("key", StringComparison.Ordinal);
    }

    private static void NoteSecret(string? value)
    {
        if (t_secrets != null && !string.IsNullOrEmpty(value)) t_secrets.Add(value);
    }

    /// <summary>
    /// A validator anywhere may quote a value; whatever it quotes, a secret is replaced before anyone sees it. Only whole
    /// tokens are replaced — the secret standing between the message's start or end, white space, quotes, brackets,
    /// <c>,</c> <c>;</c> or <c>=</c> (how values are quoted: <c>'x'</c>, <c>key=x;</c>) — never a piece of a word: a
    /// secret <c>short</c> would otherwise turn "too short" into "too (secret)", garbling the message and giving itself away.
    /// </summary>
    internal static List<ConfigProblem> Redact(List<ConfigProblem> problems, HashSet<string> secrets)
    {
        if (secrets.Count == 0) return problems;
        // Longest first, so a secret that contains another is replaced whole.
        var pattern = new System.Text.RegularExpressions.Regex(
            $"(?<=^|{TokenEdge})(?:{string.Join('|', secrets.OrderByDescending(s => s.Length).Select(System.Text.RegularExpressions.Regex.Escape))})(?=$|{TokenEdge})",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return problems.Select(p =>
        {
            var m = pattern.Replace(p.Message, "(secret)");
            return m == p.Message ? p : p with { Message = m };
        }).ToList();
    }

    private const string TokenEdge = """[\s'"`()\[\]{}<>,;=]""";

    /// <summary>Reads the value of an <c>xFile</c> key: the file's text without trailing whitespace (the newline editors add).</summary>
    private static string? ReadValueFile(string path, out string? error)
    {
        error = null;
        try
        {
            var value = File.ReadAllText(path).TrimEnd();
            NoteSecret(value);
            return value;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = e is FileNotFoundException or DirectoryNotFoundException ? $"'{path}' does not exist" : $"'{path}' cannot be read: {e.Message}";
            return null;
        }
    }

    /// <summary>The string property <c>x</c> that a key <c>xFile</c> names, when <paramref name="type"/> has no property of that name itself.</summary>
    private static PropertyInfo? FileTarget(Type type, string key) =>
        key.Length > FileSuffix.Length && key.EndsWith(FileSuffix, StringComparison.OrdinalIgnoreCase)
        && FindProperty(type, key[..^FileSuffix.Length]) is { } p && p.PropertyType == typeof(string) ? p : null;

    public static void BindYaml(string text, string source, object target, List<ConfigProblem> problems)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            problems.Add(new ConfigProblem(source, (int)e.Start.Line, (int)e.Start.Column, "(syntax)", e.InnerException?.Message ?? e.Message));
            return;
        }
        if (stream.Documents.Count == 0) return;
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" or "~" }) return;
        BindNode(root, target.GetType(), target, "", source, problems);
    }

    private static object? BindNode(YamlNode node, Type type, object? existing, string keyPath, string source, List<ConfigProblem> problems,
        string? propertyName = null)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (t_positions != null && keyPath.Length > 0) t_positions[keyPath] = ((int)node.Start.Line, (int)node.Start.Column);
        if (node is YamlScalarNode scalar)
        {
            if (IsScalarType(underlying))
            {
                if (Nullable.GetUnderlyingType(type) != null && scalar.Value is null or "~" or "null" && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain) return null;
                if (TryConvert(scalar.Value ?? "", underlying, propertyName, out var value)) return value;
                problems.Add(Problem(source, node, keyPath, NotValid(scalar.Value, underlying, propertyName)));
                return existing;
            }
            if (scalar.Value is null or "" or "~" or "null") return existing; // an empty section keeps its defaults
            problems.Add(Problem(source, node, keyPath, $"expected {Describe(underlying)}, found the value '{scalar.Value}'"));
            return existing;
        }
        if (node is YamlSequenceNode seq)
        {
            var elementType = ListElementType(underlying);
            if (elementType == null)
            {
                problems.Add(Problem(source, node, keyPath, $"expected {Describe(underlying)}, found a list"));
                return existing;
            }
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType))!;
            var i = 0;
            foreach (var child in seq.Children)
            {
                var itemPath = $"{keyPath}[{i++}]";
                var item = IsScalarType(Nullable.GetUnderlyingType(elementType) ?? elementType) ? null : Activator.CreateInstance(elementType);
                var bound = BindNode(child, elementType, item, itemPath, source, problems);
                if (bound != null || !elementType.IsValueType) list.Add(bound);
            }
            return list;
        }
        if (node is YamlMappingNode map)
        {
            if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(Dictionary<,>) && underlying.GetGenericArguments()[0] == typeof(string))
            {
                var valueType = underlying.GetGenericArguments()[1];
                var dict = (IDictionary)(existing ?? Activator.CreateInstance(underlying)!);
                foreach (var (k, v) in map.Children)
                {
                    var key = ((YamlScalarNode)k).Value ?? "";
                    dict[key] = BindNode(v, valueType, IsScalarType(valueType) ? null : Activator.CreateInstance(valueType), Join(keyPath, key), source, problems);
                }
                return dict;
            }
            // A single section where a list of sections is expected (sinks.carbon's older form) is a one-item list.
            if (ListElementType(underlying) is { } sectionType && !IsScalarType(Nullable.GetUnderlyingType(sectionType) ?? sectionType))
            {
                var one = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(sectionType))!;
                one.Add(BindNode(node, sectionType, Activator.CreateInstance(sectionType), keyPath, source, problems));
                return one;
            }
            if (IsScalarType(underlying) || ListElementType(underlying) != null)
            {
                problems.Add(Problem(source, node, keyPath, $"expected {Describe(underlying)}, found a mapping"));
                return existing;
            }
            var target = existing ?? Activator.CreateInstance(underlying)!;
            var setHere = new Dictionary<PropertyInfo, string>();
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                var prop = FindProperty(underlying, key);
                var childPath = Join(keyPath, key);
                if (prop == null && FileTarget(underlying, key) is { } fileProp)
                {
                    // Validation problems about x name the line of xFile.
                    if (t_positions != null) t_positions[childPath] = t_positions[Join(keyPath, CamelCase(fileProp.Name))] = ((int)v.Start.Line, (int)v.Start.Column);
                    if (setHere.TryGetValue(fileProp, out var other)) { problems.Add(Problem(source, k, childPath, $"give either {other} or {key}, not both")); continue; }
                    setHere[fileProp] = key;
                    if (v is not YamlScalarNode { Value: { Length: > 0 } filePath }) { problems.Add(Problem(source, v, childPath, "expected the path of a file")); continue; }
                    var value = ReadValueFile(filePath, out var error);
                    if (value == null) problems.Add(Problem(source, v, childPath, error!));
                    else fileProp.SetValue(target, value);
                    continue;
                }
                if (prop == null)
                {
                    problems.Add(Problem(source, k, childPath, $"unknown key (known here: {string.Join(", ", Properties(underlying).Select(p => CamelCase(p.Name)))}; any text key x also takes xFile)"));
                    continue;
                }
                if (setHere.TryGetValue(prop, out var earlier)) { problems.Add(Problem(source, k, childPath, $"give either {earlier} or {key}, not both")); continue; }
                setHere[prop] = key;
                var current = prop.GetValue(target);
                var bound = BindNode(v, prop.PropertyType, current, childPath, source, problems, prop.Name);
                if (bound is string text && IsSecretKey(prop.Name)) NoteSecret(text);
                prop.SetValue(target, bound);
            }
            return target;
        }
        return existing;
    }

    /// <summary>
    /// Applies <c>OBSERVE__Collector__Statsd__Port=9125</c>-style overrides; list values are comma-separated, items of a
    /// list of sections are addressed by index (<c>OBSERVE__Auth__Tokens__0__Token</c>), and <c>…__TokenFile=/path</c>
    /// reads the value of <c>token</c> from a file.
    /// </summary>
    public static void ApplyEnvironment(IDictionary environment, ObserveConfig config, List<ConfigProblem> problems)
    {
        // Sorted, so that OBSERVE__Auth__Tokens__0__Name and …__0__Token land on one item whatever the order of the environment.
        foreach (var e in environment.Cast<DictionaryEntry>().OrderBy(e => (string)e.Key, StringComparer.Ordinal))
        {
            var name = (string)e.Key;
            if (!name.StartsWith("OBSERVE__", StringComparison.OrdinalIgnoreCase)) continue;
            var parts = name["OBSERVE__".Length..].Split("__");
            var value = (string?)e.Value ?? "";
            object target = config;
            var keyPath = "";
            for (var i = 0; i < parts.Length; i++)
            {
                var last = i == parts.Length - 1;
                if (target is IList list)
                {
                    var elementType = ListElementType(target.GetType())!;
                    if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > 1000 || IsScalarType(elementType) || last)
                    {
                        problems.Add(new ConfigProblem(name, 0, 0, $"{keyPath}[{parts[i]}]", "expected an item number followed by a key (…__0__Name)"));
                        break;
                    }
                    while (list.Count <= index) list.Add(Activator.CreateInstance(elementType));
                    keyPath += $"[{index}]";
                    target = list[index]!;
                    continue;
                }
                var prop = FindProperty(target.GetType(), parts[i]);
                var fileProp = prop == null && last ? FileTarget(target.GetType(), parts[i]) : null;
                keyPath = Join(keyPath, CamelCase(parts[i]));
                if (fileProp != null)
                {
                    var text = ReadValueFile(value, out var error);
                    if (text == null) problems.Add(new ConfigProblem(name, 0, 0, keyPath, error!));
                    else fileProp.SetValue(target, text);
                    break;
                }
                if (prop == null) { problems.Add(new ConfigProblem(name, 0, 0, keyPath, "unknown key in environment variable")); break; }
                if (last)
                {
                    var t = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
                    if (IsScalarType(t))
                    {
                        if (t == typeof(string) && IsSecretKey(prop.Name)) NoteSecret(value);
                        if (TryConvert(value, t, prop.Name, out var v)) prop.SetValue(target, v);
                        else problems.Add(new ConfigProblem(name, 0, 0, keyPath, NotValid(value, t, prop.Name)));
                    }
                    else if (ListElementType(t) is { } et && IsScalarType(et))
                    {
                        var items = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(et))!;
                        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            if (TryConvert(item, et, out var v)) items.Add(v);
                            else problems.Add(new ConfigProblem(name, 0, 0, keyPath, $"'{item}' is not a valid {Describe(et)}"));
                        }
                        prop.SetValue(target, items);
                    }
                    else problems.Add(new ConfigProblem(name, 0, 0, keyPath, "this key cannot be set from the environment; use the config file"));
                }
                else
                {
                    var next = prop.GetValue(target);
                    if (next == null) { next = Activator.CreateInstance(prop.PropertyType)!; prop.SetValue(target, next); }
                    target = next;
                }
            }
        }
    }

    private static ConfigProblem Problem(string source, YamlNode node, string keyPath, string message) =>
        new(source, (int)node.Start.Line, (int)node.Start.Column, keyPath.Length == 0 ? "(root)" : keyPath, message);

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static IEnumerable<PropertyInfo> Properties(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    private static PropertyInfo? FindProperty(Type t, string key) =>
        Properties(t).FirstOrDefault(p => string.Equals(p.Name, key.Replace("_", "").Replace("-", ""), StringComparison.OrdinalIgnoreCase));

    internal static string CamelCase(string s) => s.Length == 0 ? s : char.ToLowerInvariant(s[0]) + s[1..];

    private static bool IsScalarType(Type t) =>
        t == typeof(string) || t == typeof(int) || t == typeof(long) || t == typeof(double) || t == typeof(bool) || t.IsEnum || t == typeof(TimeSpan);

    private static Type? ListElementType(Type t) =>
        t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>) ? t.GetGenericArguments()[0] : null;

    private static string Describe(Type t) =>
        t == typeof(int) || t == typeof(long) ? "whole number" : t == typeof(double) ? "number" : t == typeof(bool) ? "boolean (true/false)"
        : t == typeof(string) ? "string" : ListElementType(t) != null ? "list" : t.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(t))}" : "mapping";

    /// <summary>
    /// The unit, in seconds, of a numeric key that is a duration: named <c>…Ms</c>, <c>…Seconds</c>, <c>…Minutes</c>,
    /// <c>…Days</c>, or <c>flushInterval</c> (milliseconds). Null for every other key.
    /// </summary>
    internal static double? DurationUnit(string? propertyName) => propertyName switch
    {
        null => null,
        "FlushInterval" => 0.001,
        _ when propertyName.EndsWith("Ms", StringComparison.Ordinal) => 0.001,
        _ when propertyName.EndsWith("Seconds", StringComparison.Ordinal) => 1,
        _ when propertyName.EndsWith("Minutes", StringComparison.Ordinal) => 60,
        _ when propertyName.EndsWith("Days", StringComparison.Ordinal) => 86400,
        _ => null,
    };

    private static string UnitName(double unit) => unit switch { 0.001 => "milliseconds", 1 => "seconds", 60 => "minutes", _ => "days" };

    private static string NotValid(string? value, Type t, string? propertyName) =>
        (t == typeof(int) || t == typeof(long) || t == typeof(double)) && DurationUnit(propertyName) is { } unit
            ? $"'{value}' is not a duration (a {(t == typeof(double) ? "" : "whole ")}number of {UnitName(unit)}, or with a unit: 250ms, 10s, 5m, 1h, 1d)"
            : $"'{value}' is not a valid {Describe(t)}";

    /// <summary>
    /// A scalar for a key of type <paramref name="t"/>. A duration key (<see cref="DurationUnit"/>) also takes a duration
    /// with its unit, read by the one duration parser of the config (<c>DurationSyntax</c>, as checks and
    /// deploys use); a bare number stays in the key's own unit.
    /// </summary>
    private static bool TryConvert(string s, Type t, string? propertyName, out object? value)
    {
        if (TryConvert(s, t, out value)) return true;
        // Only with a unit: a bare number that is not a valid value (1.5 for a key in whole milliseconds) is not seconds.
        if (!(t == typeof(int) || t == typeof(long) || t == typeof(double)) || DurationUnit(propertyName) is not { } unit
            || s.TrimEnd() is not [.., var last] || !char.IsLetter(last) || !DurationSyntax.TryParse(s, out var span)) return false;
        var n = span.TotalSeconds / unit;
        if (t == typeof(double)) { value = n; return true; }
        var whole = Math.Round(n);
        // 1500ms for a key in seconds is not a whole number of them: refuse rather than round silently.
        if (Math.Abs(n - whole) > 1e-6 || whole > (t == typeof(int) ? int.MaxValue : long.MaxValue)) return false;
        value = t == typeof(int) ? (object)(int)whole : (long)whole;
        return true;
    }

    private static bool TryConvert(string s, Type t, out object? value)
    {
        value = null;
        var inv = CultureInfo.InvariantCulture;
        if (t == typeof(string)) { value = s; return true; }
        if (t == typeof(int)) { var ok = int.TryParse(s, NumberStyles.Integer, inv, out var v); value = v; return ok; }
        if (t == typeof(long)) { var ok = long.TryParse(s, NumberStyles.Integer, inv, out var v); value = v; return ok; }
        if (t == typeof(double)) { var ok = double.TryParse(s, NumberStyles.Float, inv, out var v); value = v; return ok; }
        if (t == typeof(bool))
        {
            switch (s.ToLowerInvariant()) { case "true" or "yes" or "on": value = true; return true; case "false" or "no" or "off": value = false; return true; }
            return false;
        }
        if (t.IsEnum) { var ok = Enum.TryParse(t, s, true, out var v); value = v; return ok; }
        return false;
    }
}
