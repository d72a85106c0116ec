using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Checking every chunk's length, magic and CRC after open instead of during it (issue 21: reading and checksumming every
/// blob was seconds of a restart with 100 000 series, before the first /render could answer). Reads check each chunk
/// they touch anyway (<see cref="ReadLevel"/>), so nothing corrupt is served meanwhile; this pass finds, counts and logs
/// the ones nobody reads.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    private volatile bool _stopValidating;

    /// <summary>Completes when every chunk stored at open has been checked (<see cref="CorruptChunks"/> then counts them all).</summary>
    internal Task Validated { get; private set; } = Task.CompletedTask;

    /// <summary>For tests and tools that read <see cref="CorruptChunks"/>: true when the check finished within <paramref name="timeout"/>.</summary>
    internal bool WaitUntilValidated(TimeSpan timeout) => Validated.Wait(timeout);

    private void ValidateChunks()
    {
        try
        {
            // Its own read-only connection (WAL: readers do not block the writer); the store lock only to record a bad one.
            using var conn = OpenReadOnly();
            using var c = conn.CreateCommand();
            c.CommandText = "SELECT id, min_ts, max_ts, data FROM chunk ORDER BY id";
            using var r = c.ExecuteReader();
            Dictionary<int, SeriesState>? byId = null;
            while (!_stopValidating && r.Read())
            {
                var data = r.GetValue(3) as byte[] ?? []; // not a blob at all: as corrupt as a bad checksum
                if (Gorilla.TryValidate(data, out _)) continue;
                long id = r.GetInt64(0);
                lock (_gate)
                {
                    if (_disposed || !_badChunks.Add(id)) continue; // a read found it first and counted it
                    Interlocked.Increment(ref _corruptChunks);
                    var (series, _, _) = SplitChunkId(id);
                    byId ??= _all.ToDictionary(s => s.Id);
                    LogCorruptChunk(id, byId.GetValueOrDefault(series), r.GetInt64(1), r.GetInt64(2));
                }
            }
        }
        catch (SqliteException e)
        {
            _log.LogError("tsdb: checking the chunks after open failed: {Error}", e.Message);
        }
    }
}
