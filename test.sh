#!/usr/bin/env bash
# Runs every test: installs the real servers the tests need, builds, then runs all test projects.
set -euo pipefail
cd "$(dirname "$0")"
tests/peers/install.sh
dotnet build Observe.sln -c Release -nologo -v quiet
log=$(mktemp)
set +e
dotnet test Observe.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# One closing line over all test projects: "tests: N passed, N failed, N skipped".
awk '/^ *Passed: [0-9]+ *$/ { p += $2 } /^ *Failed: [0-9]+ *$/ { f += $2 } /^ *Skipped: [0-9]+ *$/ { s += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$rc"
