#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 machine:
# the real peers (memcached, ZooKeeper, libmemcached tools, third-party clients)
# and the npm packages. Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(memcached libmemcached-tools libmemcached-dev zookeeper
          python3-pymemcache python3-memcache ruby ruby-dalli nutcracker sasl2-bin
          prometheus openssl)
missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The metrics tests run their own prometheus binary (temp config, free port, own TSDB
# path); the Debian package's service, where systemd starts it, is not wanted on 9090.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $([ "$(id -u)" -ne 0 ] && echo sudo) systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

# npm packages: reinstall only when the lockfile changed since the last install.
stamp=node_modules/.memring-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
