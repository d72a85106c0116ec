#!/usr/bin/env bash
# Installs every real peer the tests run against: Debian servers and the npm reference/clients.
# Idempotent; safe to run on a machine that already has them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apt_pkgs=(graphite-carbon graphite-web collectd-core netcat-openbsd curl monitoring-plugins-basic monitoring-plugins-standard ngircd python3-aiosmtpd postgresql-15 nginx nagios4-core chromium)  # chromium: the console tests drive it through Playwright (no browser download)
missing=()
apt_pkgs+=(influxdb victoria-metrics)  # metric sink tests (tests/Integration/MetricSinkTests.cs, SinkOutageTests.cs)
apt_pkgs+=(prometheus-node-exporter)  # the scrape tests (tests/Integration/ScrapeTests.cs)
apt_pkgs+=(python3)  # the deploy end-to-end test's web shop (tests/Integration/DeployE2E/shop.py)
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  # Keep package installs from starting daemons on a box without systemd.
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
fi
# Prometheus 2.42 for the scrape and remote-write tests: only the binary (dpkg-deb -x of the Debian package,
# 94 MB instead of 332 MB with the web UI's dependencies). Tests look for /usr/bin/prometheus, then this copy.
if [ ! -x /usr/bin/prometheus ] && [ ! -x "$here/prometheus/usr/bin/prometheus" ]; then
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get -o DPkg::Lock::Timeout=900 download prometheus >/dev/null)
  dpkg-deb -x "$tmp"/prometheus_*.deb "$here/prometheus"
  rm -rf "$tmp"
fi
# gelf-pro: a real GELF sender (UDP chunked + zlib, TCP) for the log end-to-end test.
# Every package package.json names must be there (a checkout that gained one, e.g. boomerangjs, got it only on a fresh clone).
npm_missing=0
for dep in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1])).get("dependencies", {})))' "$here/package.json"); do
  [ -d "$here/node_modules/$dep" ] || npm_missing=1
done
if (( npm_missing )); then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
