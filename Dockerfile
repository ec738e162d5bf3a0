# syntax=docker/dockerfile:1
# One image for every service, selected by command (bin/messenger.mjs):
#   docker run IMAGE gateway | router | store | presence | media | groups | accounts | push
#   docker run IMAGE standalone | mongo-init | archive | token-keys | smoke
# Built exactly as tests/production/compiled-cluster.test.ts builds and runs its tree:
# scripts/build.mjs, then scripts/stage-production.mjs (npm ci --omit=dev), then plain node
# with NODE_OPTIONS=--conditions=compiled. The root filesystem may be read-only: only DATA_DIR
# (/data) and /tmp are written, and both are meant to be volumes
# (docker run --read-only --tmpfs /tmp -v messenger-data:/data IMAGE standalone).

FROM node:26-bookworm-slim AS build
# better-sqlite3 compiles from source (node-gyp).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The build needs only esbuild (its binary comes as an optional dependency, no install script
# needed); native modules are compiled once, for the production tree below.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
RUN node scripts/build.mjs
RUN --mount=type=cache,target=/root/.npm node scripts/stage-production.mjs /app

FROM node:26-bookworm-slim
# tini as PID 1: it forwards SIGTERM to node, so the service drains, and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 messenger \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin messenger \
 && mkdir /data \
 && chown 10001:10001 /data
# Owned by root and not writable by the service user: nothing in /app changes at run time.
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS=--conditions=compiled \
    HOST=0.0.0.0 \
    DATA_DIR=/data
USER 10001:10001
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/messenger.mjs"]
CMD ["standalone"]
