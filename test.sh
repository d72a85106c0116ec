#!/usr/bin/env bash
# Runs every test: installs the real servers the tests need, builds, then runs all test projects.
# The full run also checks the code's format (`dotnet format --verify-no-changes`, about 1.5 min).
# ./test.sh --fast: the unit lane only — no peer install, no tests/Integration, and no test marked
# [Trait("Category", "Peer")] (needs a real server) or [Trait("Category", "Slow")]; for the edit-test loop, not CI.
set -euo pipefail
cd "$(dirname "$0")"
fast=0
if [[ "${1:-}" == "--fast" ]]; then fast=1; shift; fi
log=$(mktemp)
set +e
if (( fast )); then
  set -e
  dotnet build Observe.sln -c Release -nologo -v quiet
  set +e
  rc=0
  for p in tests/*.Tests; do
    dotnet test "$p" -c Release --no-build -nologo --logger "console;verbosity=normal" \
      --filter "Category!=Peer&Category!=Slow" "$@" 2>&1 | tee -a "$log"
    (( PIPESTATUS[0] != 0 )) && rc=1
  done
else
  set -e
  tests/peers/install.sh
  dotnet build Observe.sln -c Release -nologo -v quiet
  set +e
  # The house style (.editorconfig) is checked, not only suggested: `dotnet format Observe.sln` fixes what this names.
  dotnet format Observe.sln --verify-no-changes --no-restore -v quiet
  fmt=$?
  (( fmt != 0 )) && echo "format: files differ from .editorconfig (listed above); run: dotnet format Observe.sln"
  dotnet test Observe.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  (( fmt != 0 )) && rc=1
fi
set -e
# One closing line over all test projects: "tests: N passed, N failed, N skipped".
awk '/^ *Passed: [0-9]+ *$/ { p += $2 } /^ *Failed: [0-9]+ *$/ { f += $2 } /^ *Skipped: [0-9]+ *$/ { s += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
# CI shows only the tail of this output: repeat each failed test with the first lines of its message
# and stack, so a failure is readable there without the whole log.
awk '/^ *(Passed|Skipped) / { n = 0 } /^ *Failed [A-Za-z_]/ { n = 14 } n > 0 { print; n-- }' "$log" | head -n 200
rm -f "$log"
exit "$rc"
