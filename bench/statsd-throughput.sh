#!/usr/bin/env bash
# StatsD ingest benchmark: the same mixed UDP load into Observe, Etsy statsd 0.9.0 and collectd's
# statsd plugin, one at a time; finds each one's highest line rate with < 0.1 % counter loss and
# rewrites the "## StatsD ingest over UDP" section of docs/benchmarks.md (other sections are kept).
#
#   bench/statsd-throughput.sh                          # all three targets, writes docs/benchmarks.md
#   bench/statsd-throughput.sh --targets etsy,collectd  # a subset
#   BENCH_DOCS= bench/statsd-throughput.sh --seconds 2  # a quick look, docs untouched
#   BENCH_DOCS= bench/statsd-throughput.sh --names 10000,100000 --drain-timeout 60  # issue 21's distinct-names table
#     (NamesBench: RSS, flush time, drops per target; --observe-memory 8GB bounds Observe on a shared machine)
#
# Extra arguments go to bench/StatsdThroughput (--targets, --seconds, --start, --max, --bisect,
# --senders, --drain-timeout, --keep-temp, --verbose). As root it raises net.core.rmem_max to
# 25 MiB for the run (BENCH_RMEM_MAX=0 to skip) and restores the old value on exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash tests/peers/install.sh
dotnet build src/Observe/Observe.csproj -c Release -nologo -v q -clp:ErrorsOnly
dotnet build bench/StatsdThroughput/StatsdThroughput.csproj -c Release -nologo -v q -clp:ErrorsOnly

notes=()
heading=()
if [ -n "${BENCH_RMEM_DEFAULT:-}" ]; then def_note="raised to $BENCH_RMEM_DEFAULT for this run, see below"
else def_note="$(cat /proc/sys/net/core/rmem_default) bytes, left alone"; fi
want_rmem="${BENCH_RMEM_MAX:-26214400}"
old_rmem="$(cat /proc/sys/net/core/rmem_max)"
if [ "$want_rmem" != 0 ] && [ "$old_rmem" -lt "$want_rmem" ]; then
  if [ "$(id -u)" = 0 ] && sysctl -q -w net.core.rmem_max="$want_rmem" 2>/dev/null; then
    trap 'sysctl -q -w net.core.rmem_max='"$old_rmem"' || true' EXIT
    notes+=(--note "The script raised net.core.rmem_max from $old_rmem to $want_rmem (sysctl -w, as root) for the whole run, for every target. It only caps what a socket may ask for: Observe asks for 16 MiB; Etsy (Node dgram) and collectd's statsd plugin cannot set SO_RCVBUF and get net.core.rmem_default ($def_note).")
  else
    notes+=(--note "net.core.rmem_max could not be raised (not root); it was $old_rmem for every target.")
  fi
else
  notes+=(--note "net.core.rmem_max was $old_rmem (not changed) for every target; Etsy (Node dgram) and collectd's statsd plugin cannot set SO_RCVBUF and get net.core.rmem_default ($def_note).")
fi

# Opt-in: BENCH_RMEM_DEFAULT=26214400 also raises net.core.rmem_default, so Etsy and collectd (which
# cannot ask for a buffer) get the same large buffer as Observe. Machine-wide while it runs; restored.
# Its results go to their own section, "## StatsD ingest over UDP with equal receive buffers".
if [ -n "${BENCH_RMEM_DEFAULT:-}" ]; then
  old_def="$(cat /proc/sys/net/core/rmem_default)"
  sysctl -q -w net.core.rmem_default="$BENCH_RMEM_DEFAULT"
  trap 'sysctl -q -w net.core.rmem_max='"$old_rmem"' || true; sysctl -q -w net.core.rmem_default='"$old_def"' || true' EXIT
  heading=(--heading "## StatsD ingest over UDP with equal receive buffers")
  notes+=(--note "BENCH_RMEM_DEFAULT: net.core.rmem_default was raised from $old_def to $BENCH_RMEM_DEFAULT for the run, so every target, including Etsy and collectd, had a receive buffer of that size.")
fi

docs=(--docs "${BENCH_DOCS-docs/benchmarks.md}")
[ -n "${BENCH_DOCS-docs/benchmarks.md}" ] || docs=()

dotnet bench/StatsdThroughput/bin/Release/net10.0/StatsdThroughput.dll \
  --observe-dll src/Observe/bin/Release/net10.0/observe.dll \
  --node-modules tests/peers/node_modules \
  --senders 2 "${heading[@]}" "${docs[@]}" "${notes[@]}" "$@"
