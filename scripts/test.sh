#!/usr/bin/env bash
# npm test: set up a fresh machine (Node 24, node_modules, Docker engine, images), then
# type-check and run the unit and integration tests in one node:test run.
#   bash scripts/test.sh [unit|integration] [extra node --test args]
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
[ $# -gt 0 ] && shift
if [ "$which" = unit ]; then
  source scripts/setup.sh --no-images
else
  source scripts/setup.sh
fi
echo "ch2: type-check" >&2
npx tsc -p tsconfig.json
shopt -s globstar nullglob
case "$which" in
  unit) files=(test/unit/**/*.test.ts) ;;
  integration) files=(test/integration/**/*.test.ts) ;;
  all) files=(test/unit/**/*.test.ts test/integration/**/*.test.ts) ;;
  *) echo "usage: scripts/test.sh [unit|integration|all]" >&2; exit 2 ;;
esac
exec node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
