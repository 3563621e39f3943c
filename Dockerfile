# syntax=docker/dockerfile:1
#
# pgbackup-bot container image.
#   docker build -t pgbackup-bot .
#   docker run --init -p 3000:3000 -v pgbackup-data:/data --env-file pgbackup.env pgbackup-bot
# Secrets (Slack tokens, the Backup Manager password) come from the environment or a mounted
# file at run time; none is baked into the image. No Docker engine runs in CI, so
# test/ship/dockerfile.test.ts lints this file instead of building it.

# ---- build: compile TypeScript, build better-sqlite3's native module, drop dev dependencies
FROM node:22-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies, dist/ and the sandbox page's static files only
FROM node:22-bookworm-slim AS runtime
# tini forwards SIGTERM to node and reaps the children of LOG_TAIL_COMMAND; -s (subreaper)
# keeps that working, without a warning, under `docker run --init` too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    STATE_DB=/data/pgbackup.sqlite
WORKDIR /app
# package.json also marks the project root: the sandbox finds src/sandbox/public from it.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY src/sandbox/public ./src/sandbox/public
# The state database lives on the volume, writable by the node user only.
RUN mkdir -p /data \
 && chown node:node /data \
 && chmod 0700 /data
VOLUME /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "dist/main.js"]
