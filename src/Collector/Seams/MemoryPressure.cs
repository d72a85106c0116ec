namespace Observe.Collector;

/// <summary>
/// How far Observe is into its memory budget (<c>limits.memory</c>, docs/limits.md "Memory budget"); each level includes
/// the ones before it. Ordered by what gives way first.
/// </summary>
public enum MemoryPressure
{
    /// <summary>Under the budget's first threshold: nothing gives way.</summary>
    None = 0,
    /// <summary>Give back what can be rebuilt: the TSDB head is sealed now rather than at the next compaction, caches are emptied.</summary>
    Relieve = 1,
    /// <summary>Create nothing new: new StatsD keys and new TSDB series are refused and counted; known ones keep being written.</summary>
    RefuseNew = 2,
}

/// <summary>The host's reading of the memory budget, asked by the stages where they would create something new.</summary>
public interface IMemoryPressure
{
    MemoryPressure Level { get; }
}

/// <summary>Something a stage can give back under <see cref="MemoryPressure.Relieve"/> (registered by the stage, called by the host).</summary>
public interface IMemoryRelief
{
    string Name { get; }
    void Relieve();
}
