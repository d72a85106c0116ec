using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Collector;

namespace Observe.DeployMarkers;

/// <summary>Telling people: announcements or alerts, Graphite events and counters, sent after the gate is released.</summary>
internal sealed partial class DeployService
{
    /// <summary>
    /// Queues what a change tells the world: an announcement (or alert), a Graphite event tagged <c>deploy service env</c>,
    /// and the counter <c>prefix.service.env.event</c>. Runs after the gate is released.
    /// </summary>
    private void Publish(List<Func<Task>> notices, Deploy d, string ev, string text, AlertStatus status, string severity, bool graphite = true)
    {
        var now = _time.GetUtcNow();
        var labels = Labels(d, ev);
        // kind tells a route deploy alerts (firing until a later deploy passes) from announcements: both have source=deploy.
        labels["kind"] = status == AlertStatus.Firing ? "alert" : "announcement";
        if (status == AlertStatus.Firing) d.AlertFiring = true;
        if (graphite)
        {
            // Grafana shows `what` as an annotation's title and `data` as its text: a sentence for people, not JSON.
            var verdict = d.Verification?.Verdict is { } v && v != "pending" ? $"; verdict {v}" : "";
            var data = $"{ev.Replace('_', ' ')}: {d.Service} {d.Version} on {d.Env} by {d.By}{verdict} (deploy {d.Id})";
            notices.Add(() =>
            {
                // The deploy is already recorded: a failed annotation is reported, not turned into a failed marker.
                try { _events?.Add(text, ["deploy", d.Service, d.Env], data, now.ToUnixTimeSeconds()); }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException) { _log.LogWarning("deploy {Id}: Graphite event not written: {Error}", d.Id, e.Message); }
                return Task.CompletedTask;
            });
        }
        notices.Add(() =>
        {
            Count($"{_options.MetricPrefix}.{d.Service}.{d.Env}.{ev}");
            _log.LogInformation("deploy {Id}: {Text}", d.Id, text);
            return Announce(status == AlertStatus.Firing ? AlertKey(d) : $"deploy/{d.Service}/{d.Env}", text, status, severity, labels, now);
        });
    }

    private static Dictionary<string, string> Labels(Deploy d, string ev)
    {
        var labels = new Dictionary<string, string> { ["service"] = d.Service, ["env"] = d.Env, ["version"] = d.Version, ["by"] = d.By, ["event"] = ev, ["deploy_id"] = d.Id };
        if (d.Branch != null) labels["branch"] = d.Branch;
        return labels;
    }

    private async Task Announce(string key, string text, AlertStatus status, string severity, Dictionary<string, string> labels, DateTimeOffset now)
    {
        if (_alerts == null) return;
        try { await _alerts.SendAsync(new AlertEvent("deploy", key, status, severity, text, null, labels, now), CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) { _log.LogWarning(e, "alert sink refused {Key}", key); }
    }

    /// <summary>A counter point (value 1) to every metric sink.</summary>
    private void Count(string path) => Measure(path, 1);

    /// <summary>One point to every metric sink, off the caller's path: a slow sink never delays a marker.</summary>
    private void Measure(string path, double value)
    {
        if (_metrics.Count == 0) return;
        var batch = new MetricBatch(_time.GetUtcNow().ToUnixTimeSeconds(), [new MetricPoint(path, value, _time.GetUtcNow().ToUnixTimeSeconds())]);
        _ = Task.Run(async () =>
        {
            foreach (var sink in _metrics)
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try { await sink.WriteAsync(batch, limit.Token).ConfigureAwait(false); }
                catch (Exception e) { _log.LogWarning(e, "metric sink {Sink} refused {Path}", sink.Name, path); }
            }
        });
    }
}
