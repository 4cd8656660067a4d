#!/usr/bin/env bash
# `npm start [-- memcached flags]`: on a fresh clone, installs the npm packages if needed,
# builds, and runs memring standalone with memcached's defaults on 127.0.0.1:11211
# (pass -l to listen elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.memring-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
npx tsc -p tsconfig.json >&2
listen=(-l 127.0.0.1)
for a in "$@"; do case "$a" in -l|--listen|--listen=*|-l*) listen=() ;; esac; done
exec node dist/bin/memring.js "${listen[@]}" "$@"
