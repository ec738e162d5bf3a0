# syntax=docker/dockerfile:1.20
# One image for every service, selected by command (bin/messenger.mjs):
#   docker run IMAGE gateway | router | store | presence | media | groups | accounts | push
#   docker run IMAGE standalone | mongo-init | archive | token-keys | smoke
# The tree in /app is made by scripts/stage-production.mjs in its two halves, as
# tests/production/compiled-cluster.test.ts makes and runs it: the production install from
# the manifests alone (stage deps), the compiled code after scripts/build.mjs (stage build).
# A source edit re-runs only the build stage; the install (which compiles better-sqlite3)
# re-runs when a package.json or the lock changes. Run with plain node and
# NODE_OPTIONS=--conditions=compiled. The root filesystem may be read-only: only DATA_DIR
# (/data) and /tmp are written, and both are meant to be volumes
# (docker run --read-only --tmpfs /tmp -v messenger-data:/data IMAGE standalone).

FROM node:26-bookworm-slim AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY --parents packages/*/package.json services/*/package.json ./

FROM node:26-bookworm-slim AS deps
# better-sqlite3 compiles from source (node-gyp).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY --from=manifests /src ./
COPY scripts/stage-production.mjs scripts/
RUN --mount=type=cache,target=/root/.npm node scripts/stage-production.mjs --manifests-only /app

FROM node:26-bookworm-slim AS build
WORKDIR /src
COPY --from=manifests /src ./
# The build needs only esbuild (its binary comes as an optional dependency, no install script
# needed); native modules are compiled once, in the deps stage.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.mjs \
 && node scripts/stage-production.mjs --code-only /app

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
COPY --from=deps /app /app
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS=--conditions=compiled \
    HOST=0.0.0.0 \
    DATA_DIR=/data
USER 10001:10001
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/messenger.mjs"]
CMD ["standalone"]
