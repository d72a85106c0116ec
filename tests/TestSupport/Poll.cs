using System.Diagnostics;

namespace Observe.TestSupport;

/// <summary>Synchronisation by polling a condition with a deadline; never a bare sleep.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(20);
        }
    }

    /// <param name="every">Time between tries (50 ms unless told; a latency measurement polls more often).</param>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? every = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try { if (await condition()) return; } catch (Exception) when (sw.Elapsed < timeout) { }
            if (sw.Elapsed > timeout) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(50));
        }
    }
}
