using Microsoft.Extensions.Logging;
using Observe.Alerting.Pipeline.Persistence;
using Observe.Durability;

namespace Observe.Alerting.Pipeline;

/// <summary>
/// Where silences live: one node keeps them in its silences file; a cluster (a shared store) keeps them in the shared
/// store, so a silence made on any node holds on the node that owns the alert, and an expiry everywhere. Each node
/// copies the cluster's silences into its <see cref="SilenceStore"/> whenever the store says they changed.
/// </summary>
internal sealed partial class AlertPipeline
{
    private static readonly System.Text.Json.JsonSerializerOptions SilenceJson = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };

    private void LoadSilences()
    {
        List<Silence> loaded = [];
        if (_silenceFile != null)
        {
            var file = _silenceFile;
            // An unreadable file goes aside like any damaged store (kept for a human, not overwritten by the next change).
            loaded = StoreQuarantine.OpenOrQuarantine(file, () =>
            {
                if (!File.Exists(file)) return [];
                var list = System.Text.Json.JsonSerializer.Deserialize<List<Silence>>(File.ReadAllText(file), SilenceJson) ?? [];
                foreach (var s in list) LabelMatcher.ParseAll(s.Matchers);
                return list;
            }, _log, aside => $"every silence in it ({new FileInfo(aside).Length} bytes)",
                e => e is System.Text.Json.JsonException or FormatException or IOException and not FileNotFoundException, _time);
        }
        if (_store is ISharedAlertStateStore shared)
        {
            // A node joining a cluster brings the silences it had; an id the cluster knows keeps the cluster's version.
            foreach (var s in loaded) shared.SaveSilence(s, onlyIfNew: true);
            if (loaded.Count > 0) _log.LogInformation("alerting: offered {Count} silences of {File} to the cluster", loaded.Count, _silenceFile);
            SyncSilencesLocked();
            return;
        }
        foreach (var s in loaded) Silences.Restore(s);
    }

    /// <summary>Cluster: takes the cluster's silences when another node (or this one) changed them; cheap otherwise.</summary>
    private void SyncSilencesLocked()
    {
        if (_store is not ISharedAlertStateStore shared) return;
        try
        {
            if (shared.SilencesIfChanged() is { } all) Silences.ReplaceAll(all);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Keep the silences last read: the page decision goes on with them.
            Interlocked.Increment(ref Counters.StoreFailures);
            if (StoreErrors.TryLog(out _)) _log.LogError("alerting: could not read the cluster's silences: {Error}; using the ones last read", e.Message);
        }
    }

    /// <summary>
    /// Stores a silence that was made or changed: in a cluster, in the shared store (the other nodes hear of it at once);
    /// else the whole file is written to a temporary file, fsynced and renamed over it, so the file is always whole.
    /// Throws <see cref="SilenceNotSavedException"/> when that fails; the caller undoes its change.
    /// </summary>
    private void SaveSilence(Silence changed)
    {
        if (_store is ISharedAlertStateStore shared)
        {
            try { shared.SaveSilence(changed, onlyIfNew: false); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Interlocked.Increment(ref Counters.StoreFailures);
                _log.LogError("could not save silence {Id} in the cluster's database: {Error}; the change was not made", changed.Id, e.Message);
                throw new SilenceNotSavedException($"could not save the silence in the cluster's database: {e.Message}; nothing was changed", e);
            }
            return;
        }
        if (_silenceFile == null) return;
        var tmp = _silenceFile + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_silenceFile))!);
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                System.Text.Json.JsonSerializer.Serialize(f, Silences.All(), SilenceJson);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, _silenceFile, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (Exception) when (e is IOException or UnauthorizedAccessException) { }
            _log.LogError("could not save silences to {File}: {Error}; the change was not made", _silenceFile, e.Message);
            throw new SilenceNotSavedException($"could not save silences to {_silenceFile}: {e.Message}; nothing was changed", e);
        }
    }

    public Silence AddSilence(IReadOnlyList<string> matchers, DateTimeOffset start, DateTimeOffset end, string who, string comment)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var s = Silences.Add(matchers, start, end, who, comment, now);
            try { SaveSilence(s); }
            catch (SilenceNotSavedException)
            {
                Silences.Remove(s.Id);
                throw;
            }
            History.Add(new(now, "silence_added", null, null, who, $"{s.Id} {string.Join(",", s.Matchers)} until {end:u}: {comment}"));
            Commit();
            return s;
        }
    }

    public bool ExpireSilence(string id, string who)
    {
        lock (_gate)
        {
            SyncSilencesLocked();
            var now = _time.GetUtcNow();
            var before = Silences.All().FirstOrDefault(x => x.Id == id);
            if (before == null || !Silences.Expire(id, now)) return false;
            try { SaveSilence(Silences.All().First(x => x.Id == id)); }
            catch (SilenceNotSavedException)
            {
                Silences.Restore(before);
                throw;
            }
            History.Add(new(now, "silence_expired", null, null, who, id));
            TickLocked(now);
            Commit();
            return true;
        }
    }

    public IReadOnlyList<Silence> ListSilences()
    {
        lock (_gate)
        {
            SyncSilencesLocked();
            return Silences.All();
        }
    }
}
