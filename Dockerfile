# syntax=docker/dockerfile:1
#
# visionq image: one entrypoint `visionq` for `controller`, `agent` and `sandbox`.
#
# Everything the program needs lives in /opt/visionq-agent: the Node.js binary,
# the compiled code (dist/), the production node_modules and a launcher. That
# directory is self-contained on purpose: the controller's init container copies
# it (`cp -R /opt/visionq-agent/. /visionq/`) into a worker pod's shared volume
# and runs `/visionq/visionq-agent ... -- <algorithm command>` in the GPU image,
# which need not have Node installed (docs/worker-image.md says what it must have).
#
#   docker build -t visionq:0.1.0 .
#   docker run --rm visionq:0.1.0 --help

ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build: dev dependencies + TypeScript compile -----------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- production dependencies only -----------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
# Type declarations, TypeScript sources, source maps and docs are never loaded
# at run time; dropping them halves node_modules (@kubernetes/client-node mostly).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
      -o -name '*.map' -o -name '*.md' \) -delete

# ---- the self-contained bundle ----------------------------------------------------
FROM ${NODE_IMAGE} AS bundle
WORKDIR /opt/visionq-agent
# package.json carries "type": "module", which makes dist/**/*.js ES modules.
COPY package.json ./
COPY bin ./bin
COPY crds ./crds
COPY --from=build /src/dist ./dist
COPY --from=prod-deps /src/node_modules ./node_modules
# The official Node binary (glibc >= 2.28, libstdc++, libgcc_s; OpenSSL and ICU
# built in), so the agent runs in GPU images without Node.
RUN cp /usr/local/bin/node ./node \
 && find dist -type f \( -name '*.map' -o -name '*.d.ts' \) -delete
# Finds its own directory, so it works wherever the bundle is copied to, with
# nothing but a POSIX /bin/sh (no coreutils). Images without a shell can run
# `<dir>/node <dir>/bin/visionq.js agent ...` instead.
COPY --chmod=0755 <<'LAUNCHER' /opt/visionq-agent/visionq-agent
#!/bin/sh
# visionq agent launcher: the bundled Node running the bundled CLI's `agent`.
case "$0" in
  */*) here=${0%/*} ;;
  *) here=. ;;
esac
exec "$here/node" "$here/bin/visionq.js" agent "$@"
LAUNCHER
# Readable and traversable by any uid: worker pods may run as any user.
RUN chmod -R a+rX,go-w /opt/visionq-agent

# ---- runtime -------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# nats-server: `visionq sandbox` starts one as a child process (Debian's 2.9.x).
# tini: reaps the sandbox's child processes and forwards signals as PID 1.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nats-server tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=bundle /opt/visionq-agent /opt/visionq-agent
RUN ln -s /opt/visionq-agent/node /usr/local/bin/node \
 && ln -s /opt/visionq-agent/bin/visionq.js /usr/local/bin/visionq
ENV NODE_ENV=production
WORKDIR /opt/visionq-agent
# Non-root (distroless "nonroot" uid/gid); matches the chart's runAsUser.
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/visionq-agent/node", "/opt/visionq-agent/bin/visionq.js"]
CMD ["--help"]

LABEL org.opencontainers.image.title="visionq" \
      org.opencontainers.image.description="Kubernetes operator for long-running GPU computer-vision jobs on NATS JetStream" \
      org.opencontainers.image.licenses="Apache-2.0"
