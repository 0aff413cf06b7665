# syntax=docker/dockerfile:1
# pifleet agent for Raspberry Pi. Multi-arch: linux/arm64 (64-bit Raspberry Pi OS on Pi 3/4/5/Zero 2)
# and linux/arm/v7 (32-bit OS). Build and push from the repository root with buildx:
#   docker buildx build -f docker/agent.Dockerfile --platform linux/arm64,linux/arm/v7 \
#     -t <registry>/pifleet-agent:0.1.0 --push .
# The agent's dependencies (mqtt, zod) are pure JavaScript, so both build stages run on the build
# machine's own arch (no QEMU emulation for npm or tsc); only the final stage is per-platform.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY agent/protocol/package.json agent/protocol/
COPY agent/package.json agent/
COPY hub/package.json hub/
COPY hub/cli/package.json hub/cli/
COPY dashboard/package.json dashboard/
COPY test/package.json test/
# The agent workspace and the root's compiler only: none of the hub's or dashboard's packages.
RUN npm ci --ignore-scripts --no-audit --no-fund --workspace @pifleet/agent --include-workspace-root
COPY agent/protocol/tsconfig.json agent/protocol/
COPY agent/protocol/src agent/protocol/src
COPY agent/tsconfig.json agent/
COPY agent/src agent/src
# Tests (and their broker harness, which needs aedes) do not ship in the image.
RUN find agent/src -name '*.test.ts' -delete && rm -rf agent/src/testing && npx tsc -b agent

FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/agent/protocol/package.json agent/protocol/
COPY --from=build /src/agent/package.json agent/
COPY --from=build /src/hub/package.json hub/
COPY --from=build /src/hub/cli/package.json hub/cli/
COPY --from=build /src/dashboard/package.json dashboard/
COPY --from=build /src/test/package.json test/
# Production dependencies of the agent (and, through the workspace link, the protocol) only.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @pifleet/agent

FROM ${NODE_IMAGE}
ENV NODE_ENV=production PIFLEET_AGENT_DATA_DIR=/var/lib/pifleet
WORKDIR /app
# node_modules/@pifleet/{agent,protocol} are symlinks to ../../agent[/protocol]; the layout below
# keeps those targets valid.
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/agent/protocol/package.json agent/protocol/
COPY --from=build /src/agent/protocol/dist agent/protocol/dist
COPY --from=build /src/agent/package.json agent/
COPY --from=build /src/agent/dist agent/dist
# Non-root: /proc, /sys/class/thermal and the firmware get_throttled attribute are world-readable.
# An empty named volume inherits this ownership; a bind-mounted host dir must be chown'd to 1000.
RUN mkdir -p /var/lib/pifleet && chown node:node /var/lib/pifleet && chmod 0700 /var/lib/pifleet
USER node
VOLUME /var/lib/pifleet
# Node is PID 1 and handles SIGTERM itself: publishes retained offline, disconnects, exits 0
# well inside `docker stop`'s 10 s grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/agent/dist/main.js"]
