namespace Observe.Common;

/// <summary>
/// At most <paramref name="perWindow"/> log lines per <paramref name="window"/> for one kind of repeated event (an accept
/// failure, a bad token, a store error): a flood of them must not become a flood of log lines. The caller logs only when
/// <see cref="TryLog"/> says so, with the number it left out since its previous line. Thread-safe; time from the
/// <see cref="TimeProvider"/>; counting the events is the caller's business.
/// </summary>
public sealed class LogRateLimit(int perWindow, TimeSpan window, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private long _windowStart = long.MinValue;
    private int _used;
    private long _suppressed;

    /// <summary>True when this event may be logged; <paramref name="suppressed"/> is how many were not since the last logged one.</summary>
    public bool TryLog(out long suppressed)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (_windowStart == long.MinValue || _time.GetElapsedTime(_windowStart, now) >= window) { _windowStart = now; _used = 0; }
            if (_used >= perWindow) { _suppressed++; suppressed = 0; return false; }
            _used++;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
