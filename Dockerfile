# The engine, compiled: built in one stage, run by node (PID 1) in the next with production
# dependencies only. Node >= 20.19 runs it; the image takes the current LTS.
FROM node:24-slim AS build
WORKDIR /app
RUN npm install --global pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/domain/package.json packages/domain/
COPY packages/eventstore/package.json packages/eventstore/
COPY packages/projector/package.json packages/projector/
COPY packages/api/package.json packages/api/
COPY packages/client/package.json packages/client/
RUN pnpm install --frozen-lockfile --ignore-scripts
COPY tsconfig.json ./
COPY scripts scripts
COPY packages packages
RUN pnpm build

FROM node:24-slim
WORKDIR /app
# The bundle holds the engine and its dependencies but PGlite (the embedded database), which
# loads its WebAssembly from beside its own module: installed here as it is.
RUN npm install --global pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/domain/package.json packages/domain/
COPY packages/eventstore/package.json packages/eventstore/
COPY packages/projector/package.json packages/projector/
COPY packages/api/package.json packages/api/
COPY packages/client/package.json packages/client/
RUN pnpm install --frozen-lockfile --prod --ignore-scripts && npm uninstall --global pnpm
COPY --from=build /app/dist dist
ENV NODE_ENV=production
# The embedded database's folder, used when DATABASE_URL is unset.
ENV DATA_DIR=/data
# Metrics (and the health check below) on 9464, Prometheus exporters' usual port.
ENV METRICS_PORT=9464
EXPOSE 9464
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=200", "--enable-source-maps", "dist/engine.mjs", "start"]
