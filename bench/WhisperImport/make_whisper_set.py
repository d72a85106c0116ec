#!/usr/bin/python3
"""Writes N whisper files (carbon's example default retention 60s:1d,5m:30d,1h:3y) under DIR/bench/hNN/metricNNNNN.wsp
with DAYS days of data: every archive filled as carbon would leave it (each archive's own slots, coarse ones
averaged from the finer data). The header comes from the whisper module (whisper.create, sparse); the points are
packed straight into each archive's ring, which is what whisper.update_many ends with but ~100x faster."""
import math, os, struct, sys, time
import whisper

def main(root, n, days):
    now = int(time.time())
    archives = [(60, 1440), (300, 8640), (3600, 26280)]
    for i in range(n):
        path = os.path.join(root, "bench", "h%02d" % (i % 100), "metric%05d.wsp" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.remove(path)
        whisper.create(path, archives, xFilesFactor=0.5, aggregationMethod="average", sparse=True)
        with open(path, "r+b") as fh:
            info = whisper.info(path)
            for a in info["archives"]:
                step, points, offset = a["secondsPerPoint"], a["points"], a["offset"]
                newest = now - now % step
                count = min(points, days * 86400 // step)
                oldest = newest - (count - 1) * step
                buf = bytearray(points * 12)
                # whisper's ring positions count from the point at offset 0 (its baseInterval), here the oldest
                for k in range(count):
                    t = newest - k * step
                    v = float((t // step * 7 + i) % 1000) + (0.5 if step > 60 else 0.0)
                    struct.pack_into("!Ld", buf, ((t - oldest) // step % points) * 12, t, v)
                fh.seek(offset)
                fh.write(buf)
        if i % 1000 == 999:
            print("%d files" % (i + 1), file=sys.stderr)

if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
