using System.Collections;
using System.Globalization;
using System.Reflection;
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
/// <c>OBSERVE__Section__Key=value</c> override the file.
/// </summary>
public static class ConfigBinder
{
    // Where each key stood in the file being bound, so that validation problems can name a line too.
    [ThreadStatic] private static Dictionary<string, (int Line, int Column)>? t_positions;

    public static (ObserveConfig Config, List<ConfigProblem> Problems) Load(string? path, IDictionary? environment = null)
    {
        t_positions = new Dictionary<string, (int, int)>(StringComparer.OrdinalIgnoreCase);
        var config = new ObserveConfig();
        var problems = new List<ConfigProblem>();
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
        t_positions = null;
        return (config, problems);
    }

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

    private static object? BindNode(YamlNode node, Type type, object? existing, string keyPath, string source, List<ConfigProblem> problems)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (t_positions != null && keyPath.Length > 0) t_positions[keyPath] = ((int)node.Start.Line, (int)node.Start.Column);
        if (node is YamlScalarNode scalar)
        {
            if (IsScalarType(underlying))
            {
                if (Nullable.GetUnderlyingType(type) != null && scalar.Value is null or "~" or "null" && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain) return null;
                if (TryConvert(scalar.Value ?? "", underlying, out var value)) return value;
                problems.Add(Problem(source, node, keyPath, $"'{scalar.Value}' is not a valid {Describe(underlying)}"));
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
            if (IsScalarType(underlying) || ListElementType(underlying) != null)
            {
                problems.Add(Problem(source, node, keyPath, $"expected {Describe(underlying)}, found a mapping"));
                return existing;
            }
            var target = existing ?? Activator.CreateInstance(underlying)!;
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                var prop = FindProperty(underlying, key);
                var childPath = Join(keyPath, key);
                if (prop == null)
                {
                    problems.Add(Problem(source, k, childPath, $"unknown key (known here: {string.Join(", ", Properties(underlying).Select(p => CamelCase(p.Name)))})"));
                    continue;
                }
                var current = prop.GetValue(target);
                var bound = BindNode(v, prop.PropertyType, current, childPath, source, problems);
                prop.SetValue(target, bound);
            }
            return target;
        }
        return existing;
    }

    /// <summary>Applies <c>OBSERVE__Collector__Statsd__Port=9125</c>-style overrides; list values are comma-separated.</summary>
    public static void ApplyEnvironment(IDictionary environment, ObserveConfig config, List<ConfigProblem> problems)
    {
        foreach (DictionaryEntry e in environment)
        {
            var name = (string)e.Key;
            if (!name.StartsWith("OBSERVE__", StringComparison.OrdinalIgnoreCase)) continue;
            var parts = name["OBSERVE__".Length..].Split("__");
            object target = config;
            var keyPath = "";
            for (var i = 0; i < parts.Length; i++)
            {
                var prop = FindProperty(target.GetType(), parts[i]);
                keyPath = Join(keyPath, CamelCase(parts[i]));
                if (prop == null) { problems.Add(new ConfigProblem(name, 0, 0, keyPath, "unknown key in environment variable")); break; }
                if (i == parts.Length - 1)
                {
                    var value = (string?)e.Value ?? "";
                    var t = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
                    if (IsScalarType(t))
                    {
                        if (TryConvert(value, t, out var v)) prop.SetValue(target, v);
                        else problems.Add(new ConfigProblem(name, 0, 0, keyPath, $"'{value}' is not a valid {Describe(t)}"));
                    }
                    else if (ListElementType(t) is { } et && IsScalarType(et))
                    {
                        var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(et))!;
                        foreach (var item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            if (TryConvert(item, et, out var v)) list.Add(v);
                            else problems.Add(new ConfigProblem(name, 0, 0, keyPath, $"'{item}' is not a valid {Describe(et)}"));
                        }
                        prop.SetValue(target, list);
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
