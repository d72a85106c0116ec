namespace Observe.Alerting;

/// <summary>
/// Told when someone acknowledges an alert through Alerting (<c>observe ack</c>, <c>POST /api/alerts/ack</c>), so the
/// producer acknowledges its own subject too (Checks: the check): one acknowledgement, from any entry point.
/// </summary>
public interface IAlertAckListener
{
    /// <param name="key">The alert's key (e.g. <c>check/web1/http</c>); a listener ignores keys that are not its own.</param>
    ValueTask OnAcknowledgedAsync(string key, string author, string comment, CancellationToken cancellationToken);
}
