namespace Observe.Collector;

/// <summary>
/// At most one log line per <c>interval</c> for one kind of repeated event (an accept failure, a bad token): a flood of
/// them must not become a flood of log lines. The caller logs only when <see cref="ShouldLog"/> says so, with the number
/// of occurrences it did not log since its previous line. Thread-safe; counting the events is the caller's business.
/// </summary>
public sealed class LogThrottle(TimeSpan interval, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private long _nextTimestamp = long.MinValue;
    private long _suppressed;

    /// <summary>True when this occurrence is to be logged; <paramref name="suppressed"/> = occurrences not logged since the last logged one.</summary>
    public bool ShouldLog(out long suppressed)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (now < _nextTimestamp) { _suppressed++; suppressed = 0; return false; }
            _nextTimestamp = now + (long)(interval.TotalSeconds * _time.TimestampFrequency);
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
