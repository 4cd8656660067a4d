#!/usr/bin/env bash
# Makes, with podman and Debian packages only, the base images the Dockerfile needs
# on a machine that has no Docker engine and reaches no container registry:
#
#   localhost/debian-minbase:bookworm         debootstrap --variant=minbase bookworm
#   docker.io/library/node:20-bookworm-slim   that + this machine's Node 20 and npm,
#                                             a stand-in for the Docker Hub image, so the
#                                             Dockerfile's `FROM node:20-bookworm-slim`
#                                             builds with `podman build --pull=never`.
#
# Idempotent: an image that already exists is kept (about 1 s when both exist,
# about 1 minute from nothing). Run as root. Usage: scripts/docker/base-images.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/docker/env.sh
. "$HERE/env.sh"
docker_install_tools

DEBIAN_BASE=localhost/debian-minbase:bookworm
NODE_BASE=docker.io/library/node:20-bookworm-slim
work=$(mktemp -d /var/tmp/memring-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! podman image exists "$DEBIAN_BASE"; then
  echo "base-images: debootstrap bookworm (minbase) -> $DEBIAN_BASE"
  # the same mirror apt uses on these machines
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | podman import --quiet - "$DEBIAN_BASE" >/dev/null
  rm -rf "$work/rootfs"
fi

# The stand-in also carries this machine's TLS trust store: these machines reach the
# npm registry through a TLS-inspecting gateway whose CA only the host's bundle has,
# so `npm ci` in the build stage needs it (the real image would not). The image is
# labelled with what it was made from, and made again when the host's Node or CA
# bundle changes.
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
stamp="node=$(node --version) ca=$( [ -f "$CA_BUNDLE" ] && sha256sum "$CA_BUNDLE" | cut -c1-16 || echo none)"
have=$(podman image inspect -f '{{index .Labels "memring.stand-in"}}' "$NODE_BASE" 2>/dev/null || true)
if [ "$have" != "$stamp" ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" = 20 ] || { echo "base-images: need Node 20 on the host, found $(node --version)" >&2; exit 1; }
  echo "base-images: $DEBIAN_BASE + host Node $(node --version) -> $NODE_BASE (stand-in; $stamp)"
  ctx=$work/node-ctx
  mkdir -p "$ctx/ca"
  cp "$(command -v node)" "$ctx/node"
  cp -r "$(npm root -g)/npm" "$ctx/npm"
  ca_env=""
  if [ -f "$CA_BUNDLE" ]; then
    cp "$CA_BUNDLE" "$ctx/ca/host-ca.crt"
    ca_env="ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-ca.crt"
  fi
  # Like the real image: node and npm under /usr/local, a `node` user with uid 1000.
  cat >"$ctx/Containerfile" <<CF
FROM $DEBIAN_BASE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca/ /usr/local/share/ca-certificates/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$(node -p 'process.versions.node')
$ca_env
LABEL memring.stand-in="$stamp"
CMD ["node"]
CF
  podman rmi --force "$NODE_BASE" >/dev/null 2>&1 || true
  podman build --quiet --pull=never --layers=false --format docker -t "$NODE_BASE" "$ctx" >/dev/null
fi
echo "base-images: ready: $DEBIAN_BASE, $NODE_BASE"
