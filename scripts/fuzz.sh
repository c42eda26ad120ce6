#!/usr/bin/env bash
# npm run fuzz [-- --count N --seed S --concurrency C]: the fuzz campaign of issue 8
# (test/fuzz/main.ts) against the mailer image (CH2_IMAGE_TAG, default latest).
# Sets up like scripts/test.sh and builds the images first, unless CH2_FUZZ_NO_IMAGES=1.
# Crashes and 5xx answers are saved under test/fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${CH2_FUZZ_NO_IMAGES:-}" = 1 ]; then
  source scripts/setup.sh --no-images
else
  source scripts/setup.sh
fi
exec node test/fuzz/main.ts "$@"
