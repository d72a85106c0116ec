using System.Text;

namespace Observe.Collector;

/// <summary>
/// nginx's stub_status page as seven series under the prefix: <c>active</c>, <c>accepts</c>, <c>handled</c>,
/// <c>requests</c> (counters since nginx started, stored as they are), <c>reading</c>, <c>writing</c>, <c>waiting</c>:
/// <code>
/// Active connections: 2
/// server accepts handled requests
///  10 10 12
/// Reading: 0 Writing: 1 Waiting: 1
/// </code>
/// Anything else fails the scrape (<c>parse</c>): a page that is not stub_status should not look like an idle server.
/// </summary>
internal static class NginxStatusParser
{
    private static readonly string[] Names = ["active", "accepts", "handled", "requests", "reading", "writing", "waiting"];

    public static ScrapeFailure Parse(ReadOnlySpan<byte> body, ScrapeOutput output)
    {
        if (body.Length > 4096) return ScrapeFailure.Parse; // the page is ~100 bytes
        var words = Encoding.ASCII.GetString(body).Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
        // Active connections: N server accepts handled requests A H R Reading: r Writing: w Waiting: q
        if (words is not ["Active", "connections:", var active, "server", "accepts", "handled", "requests", var a, var h, var r,
            "Reading:", var reading, "Writing:", var writing, "Waiting:", var waiting]) return ScrapeFailure.Parse;
        Span<double> values = stackalloc double[7];
        string[] texts = [active, a, h, r, reading, writing, waiting];
        for (var i = 0; i < 7; i++)
            if (!long.TryParse(texts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)) return ScrapeFailure.Parse;
            else values[i] = v;
        for (var i = 0; i < 7; i++)
        {
            output.ResetName();
            output.Name.Append(Names[i]);
            output.Add(values[i], output.Name.Length);
        }
        return ScrapeFailure.None;
    }
}
