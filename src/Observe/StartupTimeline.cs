using System.Diagnostics;

namespace Observe.Host;

/// <summary>
/// Where a start went (issue 21: the first /render within a second of a restart): marks in milliseconds since the process
/// started, logged as one line once the stages have started and the store has opened; each stage marks when it has started
/// (<see cref="StageStart"/>). The store's own line says how its open divided.
/// </summary>
internal static class StartupTimeline
{
    private static readonly DateTime ProcessStart = Process.GetCurrentProcess().StartTime;
    private static readonly List<(string What, double Ms)> Marks = [];

    public static void Mark(string what)
    {
        double ms = (DateTime.Now - ProcessStart).TotalMilliseconds;
        lock (Marks) Marks.Add((what, ms));
    }

    /// <summary>"main 180, config 260, …" in the order the marks were made.</summary>
    public static string Describe()
    {
        lock (Marks) return string.Join(", ", Marks.Select(m => $"{m.What} {m.Ms:F0}"));
    }
}
