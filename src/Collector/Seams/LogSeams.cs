namespace Observe.Collector;

/// <summary>One structured log event from UDP JSON, GELF or HTTP.</summary>
public sealed record LogEvent(
    DateTimeOffset Timestamp, string Level, string? Host, string? Service, string Message,
    IReadOnlyDictionary<string, string> Fields);

/// <summary>Receives batches of log events; acknowledged once <see cref="WriteAsync"/> completes.</summary>
public interface ILogSink
{
    string Name { get; }
    ValueTask WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken);
}
