#!/usr/bin/env python3
"""Per scraper (nginx's $http_user_agent: Observe's .NET HttpClient sends none, Prometheus sends Prometheus/x.y),
the spacing of consecutive scrapes of each target inside [t0, t1], its deviation from the interval (jitter), and
scrapes per second; with the CPU seconds and RSS given, one markdown table."""
import sys, argparse, collections

ap = argparse.ArgumentParser()
ap.add_argument("log"); ap.add_argument("t0", type=float); ap.add_argument("t1", type=float); ap.add_argument("interval", type=float)
ap.add_argument("--cpu", action="append", default=[]); ap.add_argument("--rss", action="append", default=[]); ap.add_argument("--seconds", type=float)
a = ap.parse_args()
times = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(a.log):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) < 2: continue
    t, uri = float(parts[0]), parts[1]
    who = "Prometheus" if len(parts) > 2 and parts[2].startswith("Prometheus") else "Observe"
    if a.t0 <= t <= a.t1: times[who][uri].append(t)

def pct(xs, q): return xs[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")
cpu = dict(x.split("=") for x in a.cpu); rss = dict(x.split("=") for x in a.rss)
print("| scraper | scrapes/s | targets seen | jitter p50 | p99 | max | CPU (share of one core) | RSS |")
print("|---|---|---|---|---|---|---|---|")
for who in ("Observe", "Prometheus"):
    devs, n = [], 0
    for uri, ts in times[who].items():
        ts.sort(); n += len(ts)
        devs += [abs((b - x) - a.interval) * 1000 for x, b in zip(ts, ts[1:])]
    devs.sort()
    c = float(cpu.get(who, "nan"))
    print(f"| {who} | {n / (a.t1 - a.t0):.1f} | {len(times[who])} | {pct(devs, .5):.1f} ms | {pct(devs, .99):.1f} ms | {max(devs) if devs else float('nan'):.1f} ms | "
          f"{c:.1f} s = {100 * c / a.seconds:.1f} % | {int(rss.get(who, 0)) // 1024} MB |")
if "nginx" in cpu: print(f"\nnginx (serving both): {float(cpu['nginx']):.1f} CPU s = {100 * float(cpu['nginx']) / a.seconds:.1f} % of one core.")
