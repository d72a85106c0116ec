#!/usr/bin/env bash
# The shop's deploy script: marks the start, "deploys" (switches the version file), marks the finish and
# waits for Observe's verdict. Exit code: that of `observe deploy finish --wait` (1 = rolled back).
# Needs: OBSERVE (command that runs the observe CLI), OBSERVE_URL, APP_DIR.
set -euo pipefail
version="$1"
# start writes the deploy id here and finish reads it: finish marks this deploy, never another one
export OBSERVE_DEPLOY_ID_FILE="$(mktemp)"
trap 'rm -f "$OBSERVE_DEPLOY_ID_FILE"' EXIT
$OBSERVE deploy start --service shop --env test --version "$version" --branch main --by ci --url "$OBSERVE_URL"
echo "$version" > "$APP_DIR/version"
$OBSERVE deploy finish --service shop --env test --version "$version" --by ci --url "$OBSERVE_URL" --wait --wait-timeout 2m
