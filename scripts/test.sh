#!/usr/bin/env bash
# npm test: set up a fresh machine (Node 24, node_modules, Docker engine, images), type-check,
# build the bundles, then run the tests as users run the programs, in three steps:
#   unit         test/unit/         in-process, no child process
#   process      test/process/      the bundles dist/agent.mjs and dist/mailer.mjs on loopback
#   integration  test/integration/  the images (scripts/images.sh builds them once, in setup.sh)
# Every step runs even when an earlier one failed; the exit code is the first failure's.
#   bash scripts/test.sh [unit|process|integration|all] [extra node --test args]
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
[ $# -gt 0 ] && shift
case "$which" in
  unit|process) source scripts/setup.sh --no-images ;;
  integration|all) source scripts/setup.sh ;;
  *) echo "usage: scripts/test.sh [unit|process|integration|all] [extra node --test args]" >&2; exit 2 ;;
esac
echo "ch2: type-check" >&2
npx tsc -p tsconfig.json && npx tsc -p tsconfig.page.json
if [ "$which" != unit ]; then
  echo "ch2: build the bundles" >&2
  node scripts/build.ts
fi
shopt -s globstar nullglob
case "$which" in
  all) steps=(unit process integration) ;;
  *) steps=("$which") ;;
esac
rc=0
for step in "${steps[@]}"; do
  files=(test/"$step"/**/*.test.ts)
  [ ${#files[@]} -gt 0 ] || continue
  echo "ch2: $step tests (${#files[@]} files)" >&2
  node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}" || { status=$?; [ "$rc" -ne 0 ] || rc=$status; }
done
exit "$rc"
