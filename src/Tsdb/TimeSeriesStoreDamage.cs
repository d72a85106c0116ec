using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Durability;

namespace Observe.Storage.Tsdb;

/// <summary>Opening a damaged <c>tsdb.db</c>, and saying what corrupt chunks and head rows cost.</summary>
internal sealed partial class TimeSeriesStore
{
    private static string PathIn(StorageOptions options) => Path.GetFullPath(Path.Combine(options.DataDir, "tsdb.db"));

    /// <summary>
    /// Opens (creating if needed) the store under <see cref="StorageOptions.DataDir"/>. A damaged file is moved aside
    /// (<see cref="StoreQuarantine"/>) with the series and time range it held, and an empty store opened instead.
    /// </summary>
    public static TimeSeriesStore Open(StorageOptions options, TimeProvider? time = null, ILogger? log = null)
    {
        Directory.CreateDirectory(options.DataDir);
        log ??= NullLogger.Instance;
        return StoreQuarantine.OpenOrQuarantine(PathIn(options), () => new TimeSeriesStore(options, time ?? TimeProvider.System, log),
            log, DescribeLoss, time: time);
    }

    /// <summary>The series and the time range a damaged file held, as far as it can still be read.</summary>
    internal static string DescribeLoss(string path)
    {
        try
        {
            using var c = StoreQuarantine.OpenDamagedSqlite(path);
            var names = new List<string>();
            long from = long.MaxValue, until = long.MinValue;
            var seriesWhole = StoreQuarantine.ReadRows(c, "SELECT name FROM series ORDER BY id", r => { if (names.Count < 10 && !r.IsDBNull(0)) names.Add(r.GetString(0)); }, out long series);
            // Format 4: series in blocks, counted by their rows (a file without the table has none).
            StoreQuarantine.ReadRows(c, "SELECT count FROM series_block", r => { if (!r.IsDBNull(0)) series += r.GetInt64(0); }, out _);
            var chunksWhole = StoreQuarantine.ReadRows(c, "SELECT min_ts, max_ts FROM chunk", Range, out _);
            var headWhole = StoreQuarantine.ReadRows(c, "SELECT batch_ts, max_ts FROM head", Range, out _);
            // A damaged page can read back NULL where the schema forbids it: such a row says nothing, the rest still does.
            void Range(SqliteDataReader r)
            {
                if (r.IsDBNull(0) || r.IsDBNull(1)) return;
                from = Math.Min(from, r.GetInt64(0)); until = Math.Max(until, r.GetInt64(1));
            }
            var what = series > 0
                ? $"{(seriesWhole ? "" : "at least ")}{series} series ({string.Join(", ", names)}{(series > names.Count ? ", …" : "")})"
                : "series unknown (the index is unreadable)";
            var when = from <= until
                ? $"points from {DateTimeOffset.FromUnixTimeSeconds(from):u} to {DateTimeOffset.FromUnixTimeSeconds(until):u}{(chunksWhole && headWhole ? "" : " (or more: part of the file is unreadable)")}"
                : "time range unknown (chunks and head unreadable)";
            return $"{what}; {when}";
        }
        catch (SqliteException e) { return $"all series and points (unreadable: {e.Message.ReplaceLineEndings(" ")})"; }
    }

    /// <summary>One line per corrupt chunk (rate-limited): which series, archive and time range are no longer served.</summary>
    private void LogCorruptChunk(long id, SeriesState? s, long minTs, long maxTs)
    {
        if (!_corruptLog.TryLog(out var suppressed)) return;
        var (_, level, _) = SplitChunkId(id);
        _log.LogError("tsdb: corrupt chunk {Chunk} of {Series} (archive {Level}) covering {From:u} to {Until:u}: its points are not served{More}",
            id, s?.Name ?? "(unknown series)", level, DateTimeOffset.FromUnixTimeSeconds(minTs), DateTimeOffset.FromUnixTimeSeconds(maxTs),
            suppressed > 0 ? $" ({suppressed} more corrupt chunks or head rows not logged)" : "");
    }

    /// <summary>One line per corrupt head (write-ahead) row found at open (rate-limited): the flush whose points are lost.</summary>
    private void LogCorruptHeadRow(long seq, long batchTs, long maxTs, byte[] data)
    {
        if (!_corruptLog.TryLog(out var suppressed)) return;
        var points = data.Length >= 8 ? BitConverter.ToUInt32(data, 4).ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";
        _log.LogError("tsdb: corrupt head row {Seq} (flush of {Batch:u}, points up to {Until:u}, {Points} points): not restored{More}",
            seq, DateTimeOffset.FromUnixTimeSeconds(batchTs), DateTimeOffset.FromUnixTimeSeconds(maxTs), points,
            suppressed > 0 ? $" ({suppressed} more corrupt chunks or head rows not logged)" : "");
    }
}
