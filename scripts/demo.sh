#!/usr/bin/env bash
# npm run demo: the "Docker in Action" ch2 tutorial, end to end, with ch2's images in
# place of dockerinaction/ch2_mailer and dockerinaction/ch2_agent. Sets up a fresh
# machine first (Node 24, node_modules, Docker engine, images). Removes only the
# containers it made.
#   CH2_DEMO_PREFIX=demo- npm run demo    # container names demo-web, demo-mailer, demo-agent
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

prefix="${CH2_DEMO_PREFIX:-}"
web="${prefix}web"
mailer="${prefix}mailer"
agent="${prefix}agent"
made=()
cleanup() {
  if [ ${#made[@]} -gt 0 ]; then
    echo
    echo "== cleaning up: docker rm -f -v ${made[*]}"
    docker rm -f -v "${made[@]}" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

for name in "$web" "$mailer" "$agent"; do
  if docker container inspect "$name" >/dev/null 2>&1; then
    echo "ch2 demo: a container named '$name' exists already; it is not ours to remove." >&2
    echo "ch2 demo: remove it, or run with CH2_DEMO_PREFIX=demo- to use other names." >&2
    exit 1
  fi
done

run() { # print the command as the book writes it, run it, keep its output quiet
  echo "\$ $*"
  "$@" >/dev/null
}

wait_log() { # container pattern timeout_s [count: lines that must match, default 1]
  local end=$((SECONDS + $3)) count="${4:-1}"
  until [ "$(docker logs "$1" 2>&1 | grep -cE "$2")" -ge "$count" ]; do
    if [ $SECONDS -ge $end ]; then
      echo "ch2 demo: no $count line(s) '$2' in $1's log after $3 s" >&2
      docker logs "$1" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

echo "== the book's three containers, ch2 images in place of dockerinaction/ch2_*"
run docker run -d --name "$web" nginx:latest; made+=("$web")
run docker run -d --name "$mailer" ch2/mailer:latest; made+=("$mailer")
# The book adds -it to watch the agent; the demo runs it detached and shows its log.
run docker run -d --name "$agent" --link "$web:insideweb" --link "$mailer:insidemailer" ch2/agent:latest; made+=("$agent")

wait_log "$mailer" 'CH2 Example Mailer has started\.' 20
wait_log "$agent" '^System up\.$' 20 3
echo
echo "== docker logs $mailer"
docker logs "$mailer" 2>&1
echo
echo "== docker logs $agent"
docker logs "$agent" 2>&1 | tail -n 5

echo
echo "== the web server stops: the agent tells the mailer"
run docker stop "$web"
stopped_at=$(date +%s.%N)
wait_log "$mailer" 'Sending email: To: admin@work Message: The service is down!' 30
seen_at=$(date +%s.%N)
echo "== docker logs $mailer   (alert $(awk "BEGIN{printf \"%.2f\", $seen_at - $stopped_at}") s after docker stop returned)"
docker logs "$mailer" 2>&1

echo
echo "== the web server comes back: ch2's agent, unlike the book's, keeps watching"
run docker start "$web"
wait_log "$mailer" 'Message: The service is back up\.' 30
docker logs "$mailer" 2>&1 | tail -n 1
echo
echo "== docker logs $agent (last lines)"
docker logs "$agent" 2>&1 | tail -n 4
echo
echo "ch2 demo: done."
