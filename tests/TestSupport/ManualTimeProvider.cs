namespace Observe.TestSupport;

/// <summary>The tests' one fake clock (Microsoft.Extensions.TimeProvider.Testing is not in the NuGet copy here):
/// <see cref="Advance"/> moves now and fires every timer that came due, in order; a clock that never moves is one
/// nobody advances.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public ManualTimeProvider() : this(new DateTimeOffset(2026, 11, 23, 3, 0, 0, TimeSpan.Zero)) { }

    public static ManualTimeProvider AtUnixSeconds(long seconds) => new(DateTimeOffset.FromUnixTimeSeconds(seconds));
    public static ManualTimeProvider AtUnixMilliseconds(long ms) => new(DateTimeOffset.FromUnixTimeMilliseconds(ms));

    public override DateTimeOffset GetUtcNow() { lock (_gate) return _now; }

    /// <summary>Now, settable: forward is <see cref="Advance"/> (due timers fire); backward only moves the clock.</summary>
    public DateTimeOffset Now
    {
        get => GetUtcNow();
        set
        {
            var by = value - GetUtcNow();
            if (by >= TimeSpan.Zero) { Advance(by); return; }
            lock (_gate) _now = value;
        }
    }

    /// <summary><see cref="Now"/> in whole Unix seconds (the TSDB's unit).</summary>
    public long UnixSeconds { get => Now.ToUnixTimeSeconds(); set => Now = DateTimeOffset.FromUnixTimeSeconds(value); }
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <summary>Timers waiting to fire (e.g. a <c>Task.Delay</c> on this clock in progress).</summary>
    public int PendingTimers { get { lock (_gate) return _timers.Count(t => t.Due != null); } }

    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_gate) target = _now + by;
        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.Due is { } d && d <= target).OrderBy(t => t.Due).FirstOrDefault();
                if (due == null) { _now = target; return; }
                if (due.Due > _now) _now = due.Due!.Value;
                due.Due = due.Period is { } p && p > TimeSpan.Zero && p != Timeout.InfiniteTimeSpan ? _now + p : null;
            }
            due.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new ManualTimer(this, callback, state);
        t.Change(dueTime, period);
        lock (_gate) _timers.Add(t);
        return t;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due;
        public TimeSpan? Period;
        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                Period = period;
            }
            return true;
        }

        public void Dispose() { lock (owner._gate) { Due = null; owner._timers.Remove(this); } }
        public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
    }
}
