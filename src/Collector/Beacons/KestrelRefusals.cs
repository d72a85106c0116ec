using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Observe.Collector.Beacons;

/// <summary>
/// Kestrel refuses a request line or headers beyond its limits (414 / 431) before any handler runs and reports it only
/// to its bad-request logger at Debug; this logger provider turns each such refusal into a count, so an oversized GET
/// beacon is counted like one the handler refuses. Only those two: nothing else Kestrel reports there is missed by the
/// handler, and counting it here too would count it twice.
/// </summary>
internal sealed class KestrelRefusals(Action countTooLarge) : ILoggerProvider, ILogger
{
    internal const string Category = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";

    public ILogger CreateLogger(string categoryName) => categoryName == Category ? this : NullLogger.Instance;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (exception is BadHttpRequestException { StatusCode: StatusCodes.Status414UriTooLong or StatusCodes.Status431RequestHeaderFieldsTooLarge })
            countTooLarge();
    }

    public void Dispose() { }
}
