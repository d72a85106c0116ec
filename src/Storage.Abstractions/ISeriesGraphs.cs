namespace Observe.Storage;

/// <summary>Graph images of Graphite targets, drawn as <c>/render?format=png</c> draws them (for alert mails).</summary>
public interface ISeriesGraphs
{
    /// <summary>A PNG of <paramref name="target"/> over <c>[from, until]</c> (unix seconds) in graphite-web's default look.</summary>
    /// <exception cref="FormatException">the target does not evaluate, or a render bound (size, points, time) is met.</exception>
    byte[] Png(string target, long from, long until, int width, int height, string? title);
}
