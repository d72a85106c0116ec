using System.Text.Json;

namespace Observe.Collector;

/// <summary>
/// A <c>/stats</c>-style JSON document (mochiprofiler: counters, timings, VM memory) as Graphite paths: every numeric
/// leaf becomes <c>&lt;prefix&gt;.&lt;key&gt;.&lt;key&gt;…</c>, array elements are indexed from 0, booleans are 1/0,
/// strings and nulls are skipped. Keys become one node each (anything but letters, digits, <c>_</c>, <c>-</c> → <c>_</c>).
/// One forward pass of <see cref="Utf8JsonReader"/> over the bytes (no DOM); nesting deeper than maxDepth fails the scrape.
/// </summary>
internal static class JsonStatsParser
{
    public static ScrapeFailure Parse(ReadOnlySpan<byte> body, ScrapeOutput output, int maxDepth)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions
        {
            // One more than ours, so we see the container that is one too deep and say "json_depth", not "parse".
            MaxDepth = maxDepth + 1, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
        });
        var name = output.Name;
        Span<int> lengths = maxDepth <= 256 ? stackalloc int[maxDepth] : new int[maxDepth];
        Span<int> indexes = maxDepth <= 256 ? stackalloc int[maxDepth] : new int[maxDepth]; // -1: an object
        var depth = 0;
        char[]? key = null;
        var keyLength = 0;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        // UTF-8 bytes are at least as many as the chars they decode to.
                        if (key == null || key.Length < reader.ValueSpan.Length) key = new char[Math.Max(64, reader.ValueSpan.Length)];
                        keyLength = reader.CopyString(key);
                        continue;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (depth >= maxDepth) return ScrapeFailure.JsonDepth;
                        lengths[depth] = depth == 0 ? name.Length : Enter(name, output.RelativeStart, indexes, depth, key, keyLength);
                        indexes[depth] = reader.TokenType == JsonTokenType.StartArray ? 0 : -1;
                        depth++;
                        continue;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        depth--;
                        name.Length = lengths[depth];
                        continue;
                    case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                        var before = depth == 0 ? name.Length : Enter(name, output.RelativeStart, indexes, depth, key, keyLength);
                        if (depth == 0) name.Length--; // a bare number: the prefix itself
                        var value = reader.TokenType switch
                        {
                            JsonTokenType.True => 1,
                            JsonTokenType.False => 0,
                            _ => reader.TryGetDouble(out var d) ? d : double.NaN,
                        };
                        output.Add(value, name.Length);
                        name.Length = before;
                        continue;
                    default: // string, null: skipped, but an array element still takes its index
                        if (depth > 0 && indexes[depth - 1] >= 0) indexes[depth - 1]++;
                        continue;
                }
            }
        }
        catch (JsonException) { return reader.CurrentDepth >= maxDepth ? ScrapeFailure.JsonDepth : ScrapeFailure.Parse; }
        return depth == 0 ? ScrapeFailure.None : ScrapeFailure.Parse;
    }

    /// <summary>Appends the node of the element about to be read (its key, or its index in the enclosing array); returns
    /// the name's length before it.</summary>
    private static int Enter(System.Text.StringBuilder name, int relativeStart, Span<int> indexes, int depth, char[]? key, int keyLength)
    {
        var before = name.Length;
        if (before > relativeStart) name.Append('.'); // the dot after the prefix is there already
        if (indexes[depth - 1] >= 0) name.Append(indexes[depth - 1]++);
        else ScrapeNames.AppendNode(name, key.AsSpan(0, keyLength));
        return before;
    }
}
