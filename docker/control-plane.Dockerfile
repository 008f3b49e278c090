# The Gantry control plane. Build from the repository root:
#   docker build -f docker/control-plane.Dockerfile -t gantry .
# Run (state, keys and certificates live in /var/lib/gantry):
#   docker run -p 8443:8443 -v gantry-data:/var/lib/gantry gantry

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    GANTRY_HOST=0.0.0.0 \
    GANTRY_PORT=8443 \
    GANTRY_DATA_DIR=/var/lib/gantry
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
RUN mkdir -p /var/lib/gantry && chown node:node /var/lib/gantry
USER node
VOLUME ["/var/lib/gantry"]
EXPOSE 8443
ENTRYPOINT ["node", "dist/src/bin/gantry.js"]
CMD ["server"]
