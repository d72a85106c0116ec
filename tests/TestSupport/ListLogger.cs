using Microsoft.Extensions.Logging;

namespace Observe.TestSupport;

/// <summary>Collects formatted log lines (with whether an exception, i.e. a stack, came with them).</summary>
public sealed class ListLogger : ILogger
{
    public readonly List<(LogLevel Level, string Text, bool HasException)> Lines = [];
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add((logLevel, formatter(state, exception), exception != null));
    }

    /// <summary>A copy of the lines so far (they are added from other threads).</summary>
    public List<(LogLevel Level, string Text, bool HasException)> Snapshot() { lock (Lines) return [.. Lines]; }
}
