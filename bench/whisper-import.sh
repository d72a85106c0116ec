#!/usr/bin/env bash
# Whisper import rate: N whisper files (default 10 000, carbon's example default retention 60s:1d,5m:30d,1h:3y,
# DAYS = 90 days of data each, 12 240 points a file) generated with python3-whisper (bench/WhisperImport/make_whisper_set.py),
# imported by `observe import whisper` into a running Observe with the same retention; then imported again (--restart:
# every file re-read and compared, nothing written). Prints points/s of both runs, the client's and the server's
# peak RSS (/usr/bin/time -v, /proc/PID/status VmHWM) and the store's size. Record the output in docs/benchmarks.md
# with the date, machine and load. The peer side: python3-whisper reading the first 1000 files (whisper.fetch, no writing).
#
#   bench/whisper-import.sh [N] [DAYS]      # the files are kept in $BENCH_WSP (default /tmp/observe-bench-wsp) for reruns
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-10000}"; days="${2:-90}"
wsp="${BENCH_WSP:-/tmp/observe-bench-wsp}"
work="$(mktemp -d)"
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
dotnet build "$root/src/Observe/Observe.csproj" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
dll="$root/src/Observe/bin/Release/net10.0/observe.dll"
if [ "$(cat "$wsp/.made" 2>/dev/null)" != "$n $days" ]; then
  rm -rf "$wsp"; mkdir -p "$wsp"
  start=$(date +%s)
  /usr/bin/python3 "$root/bench/WhisperImport/make_whisper_set.py" "$wsp" "$n" "$days"
  echo "$n $days" > "$wsp/.made"
  echo "generated $n files in $(( $(date +%s) - start )) s: $(du -sh --apparent-size "$wsp" | cut -f1) apparent, $(du -sh "$wsp" | cut -f1) on disk"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/observe.yaml" <<YAML
http: {port: $port}
collector:
  statsd: {enabled: false}
  graphite: {enabled: false}
logs: {enabled: false}
storage:
  dataDir: $work/data
  schemas:
    - {name: default, pattern: '.*', retentions: '60s:1d,5m:30d,1h:3y'}
  aggregation:
    - {name: default, pattern: '.*', xFilesFactor: 0.5, aggregationMethod: average}
logging: {level: warning}
YAML
OBSERVE__Logs__Udp__Port=0 OBSERVE__Logs__Gelf__Port=0 dotnet "$dll" run --config "$work/observe.yaml" > "$work/observe.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run() {
  local label="$1"; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/time.txt" dotnet "$dll" import whisper "$wsp" --url "127.0.0.1:$port" --progress "$work/progress" "$@" > "$work/out.txt"
  end=$(date +%s.%N)
  local summary; summary=$(tail -1 "$work/out.txt")
  local points; points=$(sed -E 's/.*: ([0-9]+) points,.*/\1/' <<<"$summary")
  printf '%s: %s\n  %.1f s, %.0f points/s, client peak RSS %s MB, server VmHWM %s MB, load after %s\n' "$label" "$summary" \
    "$(bc -l <<<"$end - $start")" "$(bc -l <<<"$points / ($end - $start)")" \
    "$(awk '/Maximum resident/ {printf "%.0f", $6/1024}' "$work/time.txt")" \
    "$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
run "first import"
run "second import (--restart: every file re-read, compared, nothing written)" --restart
echo "store: $(du -sh "$work/data" | cut -f1) ($(ls -la "$work/data" | awk '/tsdb.db$/ {print $5}') bytes tsdb.db)"
/usr/bin/time -f "  peer peak RSS %M KB" /usr/bin/python3 "$root/bench/WhisperImport/peer_read.py" "$wsp" "$(( n < 1000 ? n : 1000 ))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
