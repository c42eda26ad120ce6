#!/usr/bin/env bash
# npm run bench [-- NAME ...] [options]: the benchmarks of issues 3 and 4 (bench/main.ts).
# Sets up like scripts/test.sh (Node 24, node_modules, Docker engine), builds the images
# when a benchmark that uses them is selected (detection, footprint, or all), then runs
#   node bench/main.ts "$@"
# Figures go to stdout and to bench/results/latest.md; progress to stderr.
#   npm run bench                          # everything, with the issues' parameters
#   npm run bench -- detection --trials 3
#   npm run bench -- soak --minutes 1
#   npm run bench -- scale --targets 100,1000
#   npm run bench -- footprint
#   npm run bench -- intake
#   npm run bench -- --help
# Env: CH2_BENCH_NO_IMAGES=1  use the images as they are (no npm run images).
set -euo pipefail
cd "$(dirname "$0")/.."

# The benchmark names among the arguments (option values skipped); none means all.
names=()
skip=0
needs_images=1
for arg in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  case "$arg" in
    -h|--help) needs_images=0 ;;
    --*=*) ;;
    --*) skip=1 ;;
    *) IFS=, read -r -a parts <<<"$arg"; names+=("${parts[@]}") ;;
  esac
done
if [ ${#names[@]} -gt 0 ] && [ "$needs_images" = 1 ]; then
  needs_images=0
  for n in "${names[@]}"; do
    case "$n" in all|detection|footprint|cluster) needs_images=1 ;; esac
  done
fi
if [ "${CH2_BENCH_NO_IMAGES:-}" = 1 ]; then needs_images=0; fi

if [ "$needs_images" = 1 ]; then
  source scripts/setup.sh
else
  source scripts/setup.sh --no-images
fi

# intake and storm run the mailer's bundle, as the image does: build it from these sources.
node scripts/build.ts >/dev/null

exec node bench/main.ts "$@"
