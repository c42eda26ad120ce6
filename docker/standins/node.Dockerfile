# Stand-in for node:24-bookworm-slim, built by scripts/images.sh when the image cannot be pulled.
# Build context (made by images.sh): node (the official Node 24 linux-x64 binary from
# .tools/node), npm/ (the npm@11 package), docker-entrypoint.sh.
FROM debian:bookworm-slim
LABEL org.ch2.standin="node:24-bookworm-slim"
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# (file modes are set in the build context: a chmod here would copy node into another layer)
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
