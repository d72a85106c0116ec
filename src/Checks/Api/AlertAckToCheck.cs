using Observe.Alerting;
using Observe.Checks.Scheduling;
using Observe.Checks.State;

namespace Observe.Checks.Api;

/// <summary>
/// An acknowledged check alert (<c>check/host/check</c>) acknowledges the check as well, sticky as the alert's ack is (it
/// lasts until recovery). The check's ACKNOWLEDGEMENT then reaches Alerting, which finds the alert already acknowledged.
/// </summary>
internal sealed class AlertAckToCheck(CheckEngine engine) : IAlertAckListener
{
    public async ValueTask OnAcknowledgedAsync(string key, string author, string comment, CancellationToken cancellationToken)
    {
        var parts = key.Split('/');
        if (parts.Length != 3 || AlertMapping.Key(parts[1], parts[2]) != key || engine.Find(parts[1], parts[2]) is not { } e) return;
        lock (e.Gate) if (e.Machine.Ack != null) return;
        await engine.AcknowledgeAsync(e, author, comment, sticky: true, cancellationToken).ConfigureAwait(false);
    }
}
