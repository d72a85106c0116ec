namespace Observe.Storage.Tsdb;

internal sealed partial class TimeSeriesStore
{
    // ISeriesQuery's absentAsZero reads through the seam, so the Graphite project needs no store type.
    SeriesWindow? ISeriesReader.ZeroWindow(string series, long from, long until) => ZeroWindow(series, from, until);
    bool ISeriesReader.FetchInto(string series, long from, long until, SlotBuffer buf) => FetchInto(series, from, until, buf);
    bool ISeriesReader.ParallelFetch => true;
}
