#!/usr/bin/env bash
# The shop's rollback action (Observe runs it with argv, no shell string): put the previous good version
# back and leave a note the test reads. Values arrive only as environment variables.
set -euo pipefail
echo "$OBSERVE_GOOD_VERSION" > "$APP_DIR/version"
printf '%s %s %s %s\n' "$OBSERVE_SERVICE" "$OBSERVE_ENV" "$OBSERVE_BAD_VERSION" "$OBSERVE_GOOD_VERSION" > "$APP_DIR/rolled-back.txt"
