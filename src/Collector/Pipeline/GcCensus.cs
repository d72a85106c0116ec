using System.Diagnostics.Tracing;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Which garbage collections ran, and why (issue 21: a flush that creates millions of series paused 19 s in 6 gen2
/// collections, and the counters cannot tell a background gen2 from a blocking one, nor a collection the LOH's budget
/// started from one the gen2 budget or an induced one did). Listens to the runtime's own GCStart events (informational,
/// one per collection: no per-allocation events) and counts them by generation, kind and, for gen2, reason.
/// One listener per process; <see cref="Snapshot"/> is cheap enough for every flush.
/// </summary>
internal sealed class GcCensus : EventListener
{
    private static readonly Lazy<GcCensus> Shared = new(() => new GcCensus());
    public static GcCensus Instance => Shared.Value;

    // GCStart_V2 Reason values (runtime's gc_reason), the ones a gen2 can have.
    private static readonly string[] Reasons =
        ["alloc-small", "induced", "low-memory", "empty", "alloc-large", "out-of-space-soh", "out-of-space-loh", "induced-not-forced",
         "internal", "induced-low-memory", "induced-compacting", "low-memory-host", "pm-full", "low-memory-host-blocking"];

    private readonly long[] _counts = new long[4]; // gen0, gen1, background gen2, blocking gen2
    private readonly long[] _gen2Reasons = new long[Reasons.Length + 1];

    private GcCensus() { }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1); // GC keyword
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not ("GCStart_V2" or "GCStart") || e.Payload is not { Count: >= 3 } p) return;
        var depth = Convert.ToInt32(p[1], System.Globalization.CultureInfo.InvariantCulture);
        var reason = Convert.ToInt32(p[2], System.Globalization.CultureInfo.InvariantCulture);
        var type = p.Count >= 4 ? Convert.ToInt32(p[3], System.Globalization.CultureInfo.InvariantCulture) : 0; // 1 = background
        var slot = depth switch { 0 => 0, 1 => 1, _ => type == 1 ? 2 : 3 };
        Interlocked.Increment(ref _counts[slot]);
        if (depth >= 2) Interlocked.Increment(ref _gen2Reasons[reason >= 0 && reason < Reasons.Length ? reason : Reasons.Length]);
    }

    /// <summary>Collections so far: gen0, gen1, background gen2, blocking gen2, and gen2s by reason.</summary>
    public Counts Snapshot()
    {
        var reasons = new long[_gen2Reasons.Length];
        for (var i = 0; i < reasons.Length; i++) reasons[i] = Interlocked.Read(ref _gen2Reasons[i]);
        return new Counts(Interlocked.Read(ref _counts[0]), Interlocked.Read(ref _counts[1]), Interlocked.Read(ref _counts[2]),
            Interlocked.Read(ref _counts[3]), reasons);
    }

    internal sealed record Counts(long Gen0, long Gen1, long BackgroundGen2, long BlockingGen2, long[] Gen2Reasons)
    {
        /// <summary>"gen0 12, gen1 4, gen2 3 (background 2, blocking 1; alloc-large 2, induced 1)" for the collections since <paramref name="start"/>.</summary>
        public string Since(Counts start)
        {
            var sb = new System.Text.StringBuilder();
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            var bg = BackgroundGen2 - start.BackgroundGen2;
            var blocking = BlockingGen2 - start.BlockingGen2;
            sb.Append(inv, $"gen0 {Gen0 - start.Gen0}, gen1 {Gen1 - start.Gen1}, gen2 {bg + blocking} (background {bg}, blocking {blocking}");
            for (var i = 0; i < Gen2Reasons.Length; i++)
            {
                var n = Gen2Reasons[i] - start.Gen2Reasons[i];
                if (n > 0) sb.Append(inv, $"; {(i < Reasons.Length ? Reasons[i] : "other")} {n}");
            }
            return sb.Append(')').ToString();
        }
    }
}
