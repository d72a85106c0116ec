using System.Buffers.Binary;
using System.Diagnostics;

namespace Observe.Storage.Tsdb;

/// <summary>
/// What the open needs to replay the head (write-ahead) rows cheaply (issue 21: restart after SIGKILL): series by id in an
/// array (ids are dense, assigned in memory from 1) instead of a dictionary of every series, and one buffer for a row's
/// points, reused by every row (a row of a 100 000-series flush is applied only once all of it decoded).
/// </summary>
internal sealed partial class TimeSeriesStore
{
    private readonly List<(SeriesState, long, double)> _replayed = [];

    /// <summary>Points replayed from head rows at open (0 after a clean stop, which checkpoints the head: TimeSeriesStoreCheckpoint.cs).</summary>
    internal long ReplayedHeadPoints { get; private set; }

    /// <summary>
    /// The head at open: the checkpoint's points for the rows it still covers, then every other head row replayed in seq
    /// order (rows written after the checkpoint, or all of them without one). Returns when the checkpoint was loaded.
    /// </summary>
    private TimeSpan LoadHead(SeriesState?[] byId, Stopwatch watch)
    {
        var covered = LoadHeadCheckpoint(byId, out var inFile);
        var loaded = watch.Elapsed;
        using (var c = _conn.CreateCommand())
        {
            // With a checkpoint only the rows it does not cover are read again (after a clean stop: none), by seq.
            c.CommandText = "SELECT seq, max_ts, data, batch_ts FROM head" + (covered == null ? " ORDER BY seq" : " WHERE seq = $s");
            var seqParam = covered == null ? null : c.Parameters.Add(new Microsoft.Data.Sqlite.SqliteParameter("$s", 0L));
            List<long> reads = covered == null ? [0L] : inFile!;
            foreach (long want in reads)
            {
                if (covered?.Contains(want) == true) continue;
                if (seqParam != null) seqParam.Value = want;
                using var r = c.ExecuteReader();
                while (r.Read())
                {
                    long seq = r.GetInt64(0);
                    var data = r.GetValue(2) as byte[] ?? [];
                    if (!TryDecodeBatch(data, byId, seq, r.GetInt64(1))) { _corruptHeadRows++; LogCorruptHeadRow(seq, r.GetInt64(3), r.GetInt64(1), data); continue; }
                    ReplayedHeadPoints += BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
                }
            }
        }
        _replayed.Clear();
        _replayed.TrimExcess();
        // An ignored checkpoint (or one no row of the file matches any more) would only be read and ignored again.
        if (CheckpointIgnored != null || covered is { Count: 0 }) Exec("DELETE FROM head_checkpoint");
        return loaded;
    }

    /// <summary>
    /// Sizes the name index and the series list for the series about to be read (ids are dense: the largest is the count), so
    /// that 100 000 names are not rehashed a dozen times while the open reads them.
    /// </summary>
    private void PresizeSeriesIndex()
    {
        using var c = _conn.CreateCommand();
        c.CommandText = "SELECT max(m) FROM (SELECT max(id) AS m FROM series UNION ALL SELECT max(first_id + count - 1) FROM series_block)";
        if (c.ExecuteScalar() is not long max || max <= 0 || max > _maxSeries) return;
        _byName.EnsureCapacity((int)max);
        _all.EnsureCapacity((int)max);
    }

    /// <summary>
    /// Every series at its id. Ids far beyond the number of series can only come from a damaged series table: such series
    /// are left out (their head points are then counted as corrupt rows) rather than sizing the array by them.
    /// </summary>
    private SeriesState?[] SeriesById()
    {
        var byId = new SeriesState?[Math.Min(_nextId, 4L * _all.Count + 1024)];
        foreach (var s in _all) if ((uint)s.Id < (uint)byId.Length) byId[s.Id] = s;
        return byId;
    }
}
