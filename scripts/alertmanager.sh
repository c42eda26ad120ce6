#!/usr/bin/env bash
# Make sure the real Prometheus Alertmanager is installed (Debian's package
# prometheus-alertmanager) for test/process/alertmanager.test.ts; prints the
# binary's path. Idempotent: nothing is installed when it is already there.
#   bash scripts/alertmanager.sh
set -euo pipefail
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  echo "ch2: installing prometheus-alertmanager (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
fi
command -v prometheus-alertmanager
