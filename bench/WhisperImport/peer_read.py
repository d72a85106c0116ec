#!/usr/bin/python3
"""The peer side: python3-whisper (graphite's own library) reading every archive of the first N bench files with
whisper.fetch, in points/s. Reading only, nothing written: a ceiling for any whisper-to-anything copy in Python."""
import glob, sys, time
import whisper

root, n = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(root + '/bench/*/*.wsp'))[:n]
start, pts, now = time.time(), 0, int(time.time())
for f in files:
    for a in whisper.info(f)['archives']:
        (_, _, _), vals = whisper.fetch(f, now - a['retention'] + a['secondsPerPoint'], now)
        pts += sum(1 for v in vals if v is not None)
el = time.time() - start
print("peer: python3-whisper whisper.fetch of every archive: %d files, %d points in %.1f s = %.0f points/s" % (len(files), pts, el, pts / el))
