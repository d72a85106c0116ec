#!/usr/bin/env bash
# Publishes Observe as one self-contained executable for linux-x64: no .NET install needed to run it.
# Usage: deploy/publish.sh [OUTPUT_DIR]   (default: ./publish)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-publish}"
dotnet publish src/Observe/Observe.csproj -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=false \
  -o "$out" -nologo -v quiet
echo "published: $out/observe"
