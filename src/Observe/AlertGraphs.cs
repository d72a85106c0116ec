using Observe.Alerting;
using Observe.Storage;

namespace Observe.Host;

/// <summary>Alert mails' graphs drawn by the series store: 600×300, graphite-web's look.</summary>
internal sealed class AlertGraphs(ISeriesGraphs graphs) : IAlertGraphs
{
    public byte[] Png(string target, DateTimeOffset from, DateTimeOffset until, string title) =>
        graphs.Png(target, from.ToUnixTimeSeconds(), until.ToUnixTimeSeconds(), 600, 300, title);
}
