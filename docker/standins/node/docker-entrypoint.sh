#!/bin/sh
# As in the official node image: `docker run node:24-bookworm-slim -e "..."` or
# `docker run IMAGE app.js` runs node with those arguments; a command runs as given.
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
