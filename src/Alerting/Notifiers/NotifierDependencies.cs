using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Observe.Alerting.Notifiers;

/// <summary>
/// Loads every assembly Alerting uses (MailKit, MimeKit, System.Net.Http.Json, …, transitively) at start-up. .NET loads
/// an assembly when a method using it is first compiled; if that happens while the process is out of file descriptors
/// the load fails ("Could not load file or assembly 'MailKit'") and the failure is remembered until restart, so one
/// connection flood would break e-mail and webhook alerts for good.
/// </summary>
internal static class NotifierDependencies
{
    public static int LoadAll(ILogger log)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Stack<Assembly>([typeof(NotifierDependencies).Assembly]);
        while (pending.TryPop(out var assembly))
            foreach (var name in assembly.GetReferencedAssemblies())
            {
                if (!seen.Add(name.FullName)) continue;
                try { pending.Push(Assembly.Load(name)); }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // A reference no code path here uses on this platform; anything else is found by the first notification.
                    log.LogDebug("alerting: {Assembly} not loaded at start: {Error}", name.Name, e.Message);
                }
            }
        return seen.Count;
    }
}
