#!/usr/bin/env bash
# The shop's rollback: Observe runs it (argv, no shell string; values only in the environment) while the deploy
# script still holds the prod lock. It marks its own deploy: OBSERVE_ROLLBACK_OF, set by Observe, makes
# `observe deploy` mark it as the rollback of the bad deploy, which lets it past the lock holder's lock.
set -euo pipefail
export OBSERVE_DEPLOY_ID_FILE="$(mktemp)"
trap 'rm -f "$OBSERVE_DEPLOY_ID_FILE"' EXIT
$OBSERVE deploy start --service "$OBSERVE_SERVICE" --env "$OBSERVE_ENV" --version "$OBSERVE_GOOD_VERSION" --by rollback --url "$OBSERVE_URL"
echo "$OBSERVE_GOOD_VERSION" > "$APP_DIR/version"
$OBSERVE deploy finish --service "$OBSERVE_SERVICE" --env "$OBSERVE_ENV" --version "$OBSERVE_GOOD_VERSION" --by rollback --url "$OBSERVE_URL"
echo "rolled back $OBSERVE_BAD_VERSION to $OBSERVE_GOOD_VERSION ($OBSERVE_ROLLBACK_REASON)"
