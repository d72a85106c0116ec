#!/usr/bin/env bash
# The shop's deploy script as shops write it: it holds the prod lock for the whole deploy, `finish --wait` included,
# and carries the deploy id from start to finish in a file. Exit code: that of `observe deploy finish --wait`
# (0 verified, 1 failed verification / rolled back). Needs: OBSERVE (command running the observe CLI), OBSERVE_URL, APP_DIR.
set -uo pipefail
version="$1"
export OBSERVE_DEPLOY_ID_FILE="$(mktemp)"
trap '$OBSERVE deploy unlock prod --by ci --url "$OBSERVE_URL"; rm -f "$OBSERVE_DEPLOY_ID_FILE"' EXIT
$OBSERVE deploy lock prod --by ci --reason "deploying shop $version" --url "$OBSERVE_URL" || exit 2
$OBSERVE deploy start --service shop --env prod --version "$version" --branch main --by ci --url "$OBSERVE_URL" || exit 2
echo "$version" > "$APP_DIR/version"
$OBSERVE deploy finish --service shop --env prod --version "$version" --by ci --url "$OBSERVE_URL" --wait --wait-timeout 2m
