#!/bin/sh
# Container entrypoint, with the same contract as the memcached image's:
#   docker run IMAGE                    -> memring (defaults)
#   docker run IMAGE -m 64 -c 2048      -> memring -m 64 -c 2048 (first arg is a flag)
#   docker run IMAGE memring-proxy ...  -> that command instead
# `exec` replaces this shell, so memring itself is PID 1 and receives SIGTERM from
# `docker stop` directly (no shell in between to swallow it).
set -e
case "${1:-}" in
  -*) set -- memring "$@" ;;
esac
exec "$@"
