# ch2/agent:latest — the website monitoring agent (drop-in for dockerinaction/ch2_agent).
# Build from the repository root:  DOCKER_BUILDKIT=0 docker build -f docker/agent.Dockerfile -t ch2/agent .
# (scripts/images.sh does this, after making the node:24-bookworm-slim base.)
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
RUN node scripts/build.ts

# ---- runtime: node and the bundle, no node_modules ------------------------------------
# agent.mjs, plus agent-chunks/: what the agent imports only when used (undici for 200+
# checks a second, YAML, pino, the table view, the metrics server; see scripts/build.ts).
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="ch2-agent" \
      org.opencontainers.image.description="Website monitoring agent: probes a web server and sends an alert to the ch2 mailer when it is down (drop-in for dockerinaction/ch2_agent)" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.ch2.project="true"
ENV NODE_ENV=production
WORKDIR /app
# The source maps (*.map) come along: NODE_OPTIONS=--enable-source-maps makes stack traces
# name the TypeScript sources (off by default: it costs memory at start).
COPY --from=build /src/dist/agent.mjs /src/dist/agent.mjs.map /app/
COPY --from=build /src/dist/agent-chunks /app/agent-chunks
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
