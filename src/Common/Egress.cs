using System.Net;
using System.Net.Sockets;

namespace Observe.Common;

/// <summary>What to do with something sent to another server, decided the same way by every sink, notifier and client.</summary>
public enum EgressOutcome
{
    /// <summary>Accepted.</summary>
    Delivered,
    /// <summary>Not accepted now, may be later (server away, overloaded, or misconfigured in a way an operator fixes): back off and send it again.</summary>
    Retry,
    /// <summary>The server will never accept this payload: dead-letter it (sinks) or give up on it (notifiers).</summary>
    Reject,
}

/// <summary>Thrown by a sender when retrying cannot help (the payload itself is refused); any other exception means retry.</summary>
public sealed class EgressRejectedException(string message) : Exception(message);

/// <summary>
/// The one outcome classification. 2xx delivered. 408, 429 and 5xx retry, as Prometheus' remote-write client and
/// Alertmanager do. 401, 403 and 404 also retry: they say the credentials, URL, database or index are wrong, which
/// an operator fixes without the data changing — dead-lettering would lose every record sent meanwhile, while the
/// spool keeps them in order and the backoff bounds the rate. Any other 4xx (400, 413, 422 …) is about the payload
/// and will not change by sending it again: reject. Exceptions (connection refused, reset, timeout, DNS) retry,
/// except <see cref="EgressRejectedException"/>.
/// </summary>
public static class EgressPolicy
{
    public static EgressOutcome Classify(HttpStatusCode status) => Classify((int)status);

    public static EgressOutcome Classify(int status) => status switch
    {
        >= 200 and < 300 => EgressOutcome.Delivered,
        408 or 429 or >= 500 => EgressOutcome.Retry,
        401 or 403 or 404 => EgressOutcome.Retry,
        _ => EgressOutcome.Reject,
    };

    public static EgressOutcome Classify(Exception e) => e switch
    {
        EgressRejectedException => EgressOutcome.Reject,
        AggregateException { InnerExceptions.Count: 1 } a => Classify(a.InnerExceptions[0]),
        _ => EgressOutcome.Retry, // HttpRequestException, SocketException, IOException, TimeoutException, a cut-off …
    };

    /// <summary>Whether an exception is a network failure rather than a bug (for the log level only: both retry).</summary>
    public static bool IsNetwork(Exception e) => e is HttpRequestException or SocketException or IOException or TimeoutException or OperationCanceledException;

    /// <summary>The start of an error body: enough to say why, never a whole page in a log line.</summary>
    public static string Snippet(string body, int max = 300)
    {
        var text = body.ReplaceLineEndings(" ").Trim();
        return text.Length > max ? text[..max] + "…" : text;
    }
}

/// <summary>
/// Capped exponential backoff with equal jitter on a <see cref="TimeProvider"/>: the n-th consecutive failure waits
/// between half and all of min(initial·2ⁿ, max), so many senders recovering together do not hit a server in step.
/// One per sending loop; <see cref="Reset"/> after a success.
/// </summary>
public sealed class Backoff
{
    private readonly TimeSpan _initial, _max;
    private readonly TimeProvider _time;
    private readonly Random _random;

    public Backoff(TimeSpan initial, TimeSpan max, TimeProvider? time = null, Random? random = null)
    {
        if (initial <= TimeSpan.Zero) initial = TimeSpan.FromMilliseconds(1);
        _initial = initial;
        _max = max < initial ? initial : max;
        _time = time ?? TimeProvider.System;
        _random = random ?? Random.Shared;
    }

    /// <summary>Consecutive failures since the last <see cref="Reset"/>.</summary>
    public int Failures { get; private set; }

    /// <summary>The cap of the next wait (before jitter).</summary>
    public TimeSpan Ceiling => TimeSpan.FromTicks((long)Math.Min(_max.Ticks, _initial.Ticks * Math.Pow(2, Math.Min(Failures, 30))));

    /// <summary>Counts a failure and returns how long to wait before the next attempt.</summary>
    public TimeSpan Next()
    {
        var ceiling = Ceiling.Ticks;
        Failures++;
        return TimeSpan.FromTicks(ceiling / 2 + (long)(_random.NextDouble() * (ceiling - ceiling / 2)));
    }

    /// <summary>Counts a failure and waits on the clock; returns the wait.</summary>
    public async Task<TimeSpan> WaitAsync(CancellationToken ct)
    {
        var delay = Next();
        await Task.Delay(delay, _time, ct).ConfigureAwait(false);
        return delay;
    }

    public void Reset() => Failures = 0;
}
