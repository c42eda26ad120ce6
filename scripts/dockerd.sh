#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock: install docker.io and
# start dockerd in the background when none runs (CI and fresh machines).
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "ch2: installing docker.io (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq docker-compose >/dev/null 2>&1; } || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "ch2: starting dockerd" >&2
  # A dockerd that was killed leaves its pid file behind, and a new one refuses to start.
  rm -f /var/run/docker.pid
  mkdir -p /var/log
  nohup dockerd >/var/log/ch2-dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
echo "ch2: dockerd did not answer within 60 s; see /var/log/ch2-dockerd.log" >&2
tail -20 /var/log/ch2-dockerd.log >&2 || true
exit 1
