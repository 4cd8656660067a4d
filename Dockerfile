# memring: a memcached-compatible cache server, as a drop-in for the memcached image.
#
#   docker build -t memring .
#   docker run -d --name cache -p 11211:11211 memring -m 64 -c 2048   # memcached's flags
#   docker run --rm memring --help
#   docker run -d --entrypoint memring-proxy memring [proxy flags]     # the routing proxy
#
# Built and run for real by scripts/docker/test.sh (podman; see scripts/docker/README.md).

# ---- build: install every dependency, compile TypeScript, keep production deps only ----
FROM node:20-bookworm-slim AS build
WORKDIR /src
ENV NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false
# manifests first, so the dependency layer is reused while only the code changes
COPY package.json package-lock.json ./
RUN npm ci --loglevel=error
COPY tsconfig.json ./
COPY scripts/docker/tsconfig.image.json ./
COPY bin ./bin
COPY lib ./lib
COPY protocol ./protocol
# Compiles only the code that ships (tsconfig.image.json leaves out tests and
# benchmarks); a type error fails the build. Every `bin` entry of package.json that
# was built must start with a node shebang, since the image runs it as a command.
RUN npx tsc -p tsconfig.image.json \
 && node -e ' \
      const fs = require("node:fs"); \
      const bins = require("./package.json").bin; \
      for (const [name, file] of Object.entries(bins)) { \
        if (!fs.existsSync(file)) { console.log("not built (skipped): " + name); continue } \
        if (!fs.readFileSync(file, "utf8").startsWith("#!/usr/bin/env node")) throw new Error(file + ": no node shebang"); \
        fs.chmodSync(file, 0o755); \
      }' \
 && npm prune --omit=dev --loglevel=error

# ---- runtime: Node 20 slim + compiled code + production node_modules ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the `node` user the server runs as.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/bin ./dist/bin
COPY --from=build /src/dist/lib ./dist/lib
COPY --from=build /src/dist/protocol ./dist/protocol
COPY scripts/docker/entrypoint.sh /usr/local/bin/memring-entrypoint
COPY scripts/docker/healthcheck.mjs /usr/local/lib/memring/healthcheck.mjs
# memring and memring-proxy become commands on PATH (whichever of them was built)
RUN node -e ' \
      const fs = require("node:fs"); \
      for (const [name, file] of Object.entries(require("./package.json").bin)) \
        if (fs.existsSync(file)) fs.symlinkSync("/app/" + file, "/usr/local/bin/" + name); \
    ' \
 && memring --help >/dev/null
USER node
EXPOSE 11211
# Speaks the protocol (`version`), on the port and address memring was started with.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD ["node", "/usr/local/lib/memring/healthcheck.mjs"]
# Like the memcached image: arguments that start with "-" are memring's flags,
# anything else is a command to run instead (e.g. memring-proxy).
ENTRYPOINT ["memring-entrypoint"]
CMD ["memring"]
