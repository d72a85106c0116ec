using Observe.Storage.Tsdb;

namespace Observe.Bench;

static partial class AggregateProfile
{
    static partial void NewDecoderPhase(List<byte[]> blobs, int runs)
    {
        var scratch = new ChunkScratch();
        Phase("Gorilla.TryValidate (header, CRC-32)", runs, () => { long n = 0; foreach (var b in blobs) if (Gorilla.TryValidate(b, out int c)) n += c; return n; });
        Phase("Gorilla.DecodeInto (reused buffers)", runs, () => { long n = 0; foreach (var b in blobs) { Gorilla.DecodeInto(b, scratch); n += scratch.Count; } return n; });
    }
}
