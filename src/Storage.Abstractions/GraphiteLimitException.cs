namespace Observe.Storage.Graphite;

/// <summary>
/// A request that went past one of the bounds in <c>storage.render</c> / <c>storage</c>: a 400 naming <see cref="Key"/>, counted
/// per key. Here, not in the Graphite project, because the store's <see cref="ISeriesReader.Find"/> throws it too
/// (<c>storage.maxFindResults</c>).
/// </summary>
public sealed class GraphiteLimitException(string key, string message) : GraphiteInputException(message)
{
    public string Key { get; } = key;
}
