# The engine on the current Node LTS; the code also runs on Node >= 20.19.
FROM node:24-slim
WORKDIR /app
RUN npm install --global pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/domain/package.json packages/domain/
COPY packages/eventstore/package.json packages/eventstore/
COPY packages/projector/package.json packages/projector/
COPY packages/api/package.json packages/api/
COPY packages/client/package.json packages/client/
RUN pnpm install --frozen-lockfile --prod
COPY tsconfig.json ./
COPY packages packages
ENV NODE_ENV=production
# The embedded database's folder, used when DATABASE_URL is unset.
ENV DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
CMD ["pnpm", "start"]
