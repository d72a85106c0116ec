#!/usr/bin/env bash
# Runs every test: installs the real servers the tests need, builds, then runs all test projects.
set -euo pipefail
cd "$(dirname "$0")"
tests/peers/install.sh
dotnet build Observe.sln -c Release -nologo -v quiet
dotnet test Observe.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
