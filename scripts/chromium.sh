#!/usr/bin/env bash
# Make sure Debian's chromium is installed at /usr/bin/chromium, for the browser
# tests (test/support/browser.ts drives it with playwright-core; nothing is ever
# downloaded by playwright). Idempotent and silent when it is already there.
#   bash scripts/chromium.sh
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >/tmp/ch2-chromium-install.log 2>&1; then
  echo "ch2: could not install chromium with apt-get (see /tmp/ch2-chromium-install.log)" >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "ch2: apt-get installed chromium but /usr/bin/chromium is missing" >&2
  exit 1
fi
