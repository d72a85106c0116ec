#!/usr/bin/env bash
# CLI start-up time: what a deploy script pays per `observe …` call. hyperfine (Debian package) runs each command
# of the published single file (deploy/publish.sh) and of `dotnet observe.dll`; a deploy marker goes to a port
# where nothing listens, so the time is start-up + one refused connection, never the server's.
#
#   bench/cli-startup.sh [PUBLISHED_OBSERVE] [RUNS]   # default: publish to a temp dir first; 30 runs
# Prints hyperfine's table (markdown); record it in docs/benchmarks.md with the date, machine and load.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
exe="${1:-}"
if [ -z "$exe" ]; then "$root/deploy/publish.sh" "$work/publish" >/dev/null; exe="$work/publish/observe"; fi
dotnet build "$root/src/Observe/Observe.csproj" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
dll="$root/src/Observe/bin/Release/net10.0/observe.dll"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'http: {port: %s}\n' "$port" > "$work/observe.yaml"
cd "$work"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N -i -w 3 -r "${2:-30}" --export-markdown "$work/table.md" \
  -n "single file: --help" "$exe --help" \
  -n "single file: deploy lock (--url)" "$exe deploy lock qa --by ci --url http://127.0.0.1:$port" \
  -n "single file: deploy lock (address from ./observe.yaml)" "$exe deploy lock qa --by ci" \
  -n "single file: config check" "$exe config check observe.yaml" \
  -n "dotnet observe.dll: deploy lock (--url)" "dotnet $dll deploy lock qa --by ci --url http://127.0.0.1:$port" >/dev/null
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/table.md"
