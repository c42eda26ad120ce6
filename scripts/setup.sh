#!/usr/bin/env bash
# Everything a fresh machine needs before ch2 runs, sourced by scripts/test.sh and
# scripts/demo.sh: Node 24 first on PATH, node_modules, a Docker engine, images.
#   source scripts/setup.sh [--no-images]
set -euo pipefail
ch2_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ch2_root"

PATH="$(bash scripts/node.sh):$PATH"
export PATH
echo "ch2: node $(node --version), npm $(npm --version)" >&2

# node_modules, installed from the lock file when missing or older than it.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ch2: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/dockerd.sh
# The real Prometheus Alertmanager, for the alertmanager channel's process test.
bash scripts/alertmanager.sh >/dev/null
# Debian's chromium, for the browser tests (test/support/browser.ts).
bash scripts/chromium.sh
# Debian's dnsmasq, the DNS server of the dns:// process tests (test/support/dnsmasq.ts).
if ! command -v dnsmasq >/dev/null && [ ! -x /usr/sbin/dnsmasq ]; then
  { apt-get install -y -qq --no-install-recommends dnsmasq-base >/dev/null 2>&1; } || { apt-get update -qq && apt-get install -y -qq --no-install-recommends dnsmasq-base >/dev/null; }
fi

if [ "${1:-}" != "--no-images" ]; then
  bash scripts/images.sh
fi

# testcontainers on this machine: no Ryuk image to pull, the engine is local.
export TESTCONTAINERS_RYUK_DISABLED=true
# 127.0.0.1, not localhost: a published port's IPv6 binding gets another host port (test/integration/setup.ts).
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
