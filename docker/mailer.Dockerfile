# ch2/mailer:latest — the alert mailer (drop-in for dockerinaction/ch2_mailer).
# Build from the repository root:  DOCKER_BUILDKIT=0 docker build -f docker/mailer.Dockerfile -t ch2/mailer .
# (scripts/images.sh does this, after making the node:24-bookworm-slim base.)
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
RUN node scripts/build.ts

# ---- runtime: node and the bundle, no node_modules ------------------------------------
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="ch2-mailer" \
      org.opencontainers.image.description="Alert mailer: receives alerts from the ch2 agent on port 33333 and delivers them (log, SMTP); drop-in for dockerinaction/ch2_mailer" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.ch2.project="true"
ENV NODE_ENV=production
RUN mkdir -p /var/lib/ch2-mailer && chown 1000:1000 /var/lib/ch2-mailer
WORKDIR /app
COPY --from=build /src/dist/mailer.mjs /src/dist/mailer-store-worker.mjs /src/dist/mailer-page.js /app/
# The channel-module contract (README "Your own channel"), for plugin authors: docker cp <container>:/app/ch2-channel.d.ts .
COPY types/ch2-channel.d.ts /app/ch2-channel.d.ts
# `ch2-mailer ...` (the README's `docker exec <name> ch2-mailer healthcheck`) runs the same bundle.
# node:sqlite is built into Node 24; --disable-warning keeps a possible ExperimentalWarning out of the log.
RUN printf '#!/bin/sh\nexec node --disable-warning=ExperimentalWarning /app/mailer.mjs "$@"\n' > /usr/local/bin/ch2-mailer \
 && chmod 755 /usr/local/bin/ch2-mailer
USER node
VOLUME /var/lib/ch2-mailer
EXPOSE 33333
# Unhealthy while the mailer is down or its store cannot be written (/healthz answers 503 "degraded").
HEALTHCHECK --interval=10s --timeout=3s CMD ["ch2-mailer", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--disable-warning=ExperimentalWarning", "/app/mailer.mjs"]
