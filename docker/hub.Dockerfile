# pifleet hub: API, dashboard, and (by default) embedded PGlite + MQTT.
# Build from the repository root:  docker build -f docker/hub.Dockerfile -t pifleet/hub .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY agent/protocol/package.json agent/protocol/
COPY agent/package.json agent/
COPY hub/package.json hub/
COPY hub/cli/package.json hub/cli/
COPY dashboard/package.json dashboard/
COPY test/package.json test/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npx tsc -b agent/protocol hub hub/cli && npm run build -w @pifleet/dashboard \
 && npm prune --omit=dev --workspace @pifleet/hub --workspace @pifleet/protocol --workspace @pifleet/cli

FROM node:20-bookworm-slim
ENV NODE_ENV=production PIFLEET_DATA_DIR=/var/lib/pifleet-hub
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/agent/protocol/package.json agent/protocol/package.json
COPY --from=build /src/agent/protocol/dist agent/protocol/dist
COPY --from=build /src/hub/package.json hub/package.json
COPY --from=build /src/hub/dist hub/dist
COPY --from=build /src/hub/drizzle hub/drizzle
COPY --from=build /src/hub/cli/package.json hub/cli/package.json
COPY --from=build /src/hub/cli/dist hub/cli/dist
COPY --from=build /src/dashboard/dist dashboard/dist
RUN mkdir -p /var/lib/pifleet-hub && chown node:node /var/lib/pifleet-hub
USER node
VOLUME /var/lib/pifleet-hub
EXPOSE 8080 1883
CMD ["node", "hub/dist/main.js"]
