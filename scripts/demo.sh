#!/usr/bin/env bash
# npm run demo: the "Docker in Action" ch2 tutorial, end to end, with ch2's images in
# place of dockerinaction/ch2_mailer and dockerinaction/ch2_agent. Sets up a fresh
# machine first (Node 24, node_modules, Docker engine, images). The mailer's port is
# also published on a loopback host port, and the demo ends by printing its status
# page's address, leaving the three containers running to look at (a later demo run
# removes them first; they carry the label ch2.demo). It only ever removes containers
# it made.
#   CH2_DEMO_PREFIX=demo- npm run demo    # container names demo-web, demo-mailer, demo-agent
#   CH2_DEMO_CLEANUP=1 npm run demo       # remove the containers at the end
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

prefix="${CH2_DEMO_PREFIX:-}"
web="${prefix}web"
mailer="${prefix}mailer"
agent="${prefix}agent"
made=()
cleanup() {
  if [ ${#made[@]} -gt 0 ] && { [ "${CH2_DEMO_CLEANUP:-}" = 1 ] || [ "${kept:-}" != 1 ]; }; then
    echo
    echo "== cleaning up: docker rm -f -v ${made[*]}"
    docker rm -f -v "${made[@]}" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

for name in "$web" "$mailer" "$agent"; do
  if [ "$(docker container inspect -f '{{index .Config.Labels "ch2.demo"}}' "$name" 2>/dev/null)" = 1 ]; then
    docker rm -f -v "$name" >/dev/null # an earlier demo's, left to look at
  fi
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
# --label ch2.demo=1 marks them as the demo's; -p publishes the mailer's status page on a loopback port.
echo "\$ docker run -d --name $web nginx:latest"
docker run -d --label ch2.demo=1 --name "$web" nginx:latest >/dev/null; made+=("$web")
echo "\$ docker run -d --name $mailer -p 127.0.0.1::33333 ch2/mailer:latest"
docker run -d --label ch2.demo=1 --name "$mailer" -p 127.0.0.1::33333 ch2/mailer:latest >/dev/null; made+=("$mailer")
# The book adds -it to watch the agent; the demo runs it detached and shows its log.
echo "\$ docker run -d --name $agent --link $web:insideweb --link $mailer:insidemailer ch2/agent:latest"
docker run -d --label ch2.demo=1 --name "$agent" --link "$web:insideweb" --link "$mailer:insidemailer" ch2/agent:latest >/dev/null; made+=("$agent")

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

page="http://$(docker port "$mailer" 33333/tcp | head -n 1)/"
# The agent reports to the hub every 10 s: wait for the page to list its target.
end=$((SECONDS + 30))
until curl -fsS "${page}api/v1/status" 2>/dev/null | grep -q '"name":"'; do
  [ $SECONDS -lt $end ] || { echo "ch2 demo: the status page at $page lists no target after 30 s" >&2; exit 1; }
  sleep 0.5
done
echo
if [ "${CH2_DEMO_CLEANUP:-}" = 1 ]; then
  echo "ch2 demo: done (the status page was at $page)."
else
  kept=1
  echo "ch2 demo: done. The three containers keep running; remove them with: docker rm -f -v ${made[*]}"
  echo "Status page: $page"
fi
