using System.Globalization;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Common;

namespace Observe.Host;

/// <summary>
/// The one memory budget (<c>limits.memory</c>, docs/limits.md "Memory budget"). Every second it reads the process's
/// resident memory and sets the level every stage asks where it would create something new: from
/// <see cref="RelieveAt"/> of the budget the stages give back what can be rebuilt (<see cref="IMemoryRelief"/>: the TSDB
/// seals its head and empties its chunk cache; then a compacting GC returns the pages), at most every 10 s; from
/// <see cref="RefuseAt"/> new StatsD keys and new series are refused (each counted where it is refused). Known keys and
/// series keep flowing: their memory is already bounded (maxActiveKeys, maxSeries, the head by compaction).
/// </summary>
internal sealed class MemoryGovernor : IMemoryPressure, IDisposable
{
    public const double RelieveAt = 0.75, RefuseAt = 0.9;
    private static readonly TimeSpan ReliefEvery = TimeSpan.FromSeconds(10);

    private readonly Func<long> _measure;
    private readonly Func<IEnumerable<IMemoryRelief>> _reliefs;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly LogRateLimit _logThrottle;
    private readonly ITimer? _timer;
    private readonly Lock _gate = new();
    private int _level;
    private long _lastRelief = long.MinValue, _reliefCount, _refusingEntered;

    public MemoryGovernor(long budgetBytes, Func<long> measure, Func<IEnumerable<IMemoryRelief>> reliefs, TimeProvider time, ILogger log, bool start = true)
    {
        BudgetBytes = budgetBytes;
        _measure = measure; _reliefs = reliefs; _time = time; _log = log;
        _logThrottle = new LogRateLimit(1, TimeSpan.FromSeconds(10), time);
        if (start && budgetBytes > 0) _timer = time.CreateTimer(_ => Check(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public long BudgetBytes { get; }
    public MemoryPressure Level => (MemoryPressure)Volatile.Read(ref _level);
    /// <summary>Times the stages were asked to give memory back.</summary>
    public long Reliefs => Interlocked.Read(ref _reliefCount);
    /// <summary>Times the level rose to <see cref="MemoryPressure.RefuseNew"/>.</summary>
    public long RefusingEntered => Interlocked.Read(ref _refusingEntered);

    /// <summary>One reading: relieve first, then decide the level on what is left.</summary>
    public void Check()
    {
        if (BudgetBytes <= 0) return;
        lock (_gate)
        {
            long used = _measure();
            long now = _time.GetTimestamp();
            if (used >= BudgetBytes * RelieveAt && (_lastRelief == long.MinValue || _time.GetElapsedTime(_lastRelief, now) >= ReliefEvery))
            {
                _lastRelief = now;
                Interlocked.Increment(ref _reliefCount);
                foreach (var r in _reliefs())
                {
                    try { r.Relieve(); }
                    catch (Exception e) { _log.LogWarning("memory budget: {Name} could not give memory back: {Error}", r.Name, e.Message); }
                }
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                used = _measure();
            }
            var level = used >= BudgetBytes * RefuseAt ? MemoryPressure.RefuseNew : used >= BudgetBytes * RelieveAt ? MemoryPressure.Relieve : MemoryPressure.None;
            var before = (MemoryPressure)_level;
            Volatile.Write(ref _level, (int)level);
            if (level == MemoryPressure.RefuseNew && before != MemoryPressure.RefuseNew) Interlocked.Increment(ref _refusingEntered);
            if (level != before && _logThrottle.TryLog(out var more))
                _log.LogWarning("memory budget: {Used} MB of {Budget} MB resident, {Level} ({More} more level changes since the last such line)",
                    used >> 20, BudgetBytes >> 20, level, more);
        }
    }

    /// <summary>
    /// <c>limits.memory</c>: <c>auto</c> (75 % of the memory the runtime may use: the machine's, or the container's limit),
    /// <c>off</c>, a size (<c>512MB</c>, <c>2GB</c>, plain bytes) or a share of that memory (<c>50%</c>). Null when malformed.
    /// </summary>
    public static long? ParseBudget(string? text, long available)
    {
        var t = (text ?? "auto").Trim().ToLowerInvariant();
        if (t is "auto" or "") return (long)(available * 0.75);
        if (t is "off" or "0") return 0;
        if (t.EndsWith('%'))
            return double.TryParse(t[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 100 ? (long)(available * p / 100) : null;
        long unit = t.EndsWith("gb") ? 1L << 30 : t.EndsWith("mb") ? 1L << 20 : t.EndsWith("kb") ? 1L << 10 : 1;
        var digits = unit == 1 ? t.TrimEnd('b') : t[..^2];
        // A size past what a long holds (9000000000GB) is malformed, not wrapped round to a negative budget or 0 (= off).
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= long.MaxValue / unit ? n * unit : null;
    }

    public void Dispose() => _timer?.Dispose();
}
