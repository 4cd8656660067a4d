#!/usr/bin/env bash
# The whole test suite, on an already built tree (npm test builds first):
#   1. typecheck is the build itself (tsc, strict) — done by `npm test` before this script;
#   2. every unit/integration test file (tap, compiled JS under dist/, 2 jobs);
#   3. the black-box compat suite against real memcached, memring and the proxy (compat-tests/);
#   4. the Docker image, built and run with podman (scripts/docker/test.sh).
# Ends with one line: "tests: N passed, M failed" (tap assertions plus compat results).
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
npx tap --disable-coverage --jobs 2 --timeout 300 --reporter=tap 'dist/**/*.test.js' 2>&1 | tee "$log"
tap_rc=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total:' "$log" | tail -1)
# every failed assertion, kept for the end of the run so a log's tail names what failed
tap_failures=$(grep -E '^ *not ok ' "$log" | sed -E 's/^ +/  /' | head -40)
total=$(sed -E 's/.*total: ([0-9]+).*/\1/' <<<"$summary")
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
rm -f "$log"
total=${total:-0}; pass=${pass:-0}
fail=$((total - pass))
[ "$tap_rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
compat_rc=0
if [ -f dist/compat-tests/run.js ]; then
  # black-box suite against real memcached, memring and memring-proxy in front of two
  # memring hosts (the proxy divergences P1-P3 are pinned there); every target must be
  # able to run (setup.sh installs memcached); its JSON summary adds each script to the totals
  compat_json=$(mktemp)
  node dist/compat-tests/run.js --target memcached --target memring --target proxy --require-targets --json "$compat_json" || compat_rc=$?
  read -r cpass cfail < <(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(j.passed, j.failed)' "$compat_json" 2>/dev/null || echo "0 1")
  rm -f "$compat_json"
  [ "$compat_rc" -ne 0 ] && [ "$cfail" -eq 0 ] && cfail=1
  pass=$((pass + cpass)); fail=$((fail + cfail))
fi
# 4. the Docker image, really built and run with podman (scripts/docker/test.sh, ~2 min;
#    it skips, with a banner, only where podman cannot run a container at all)
docker_log=$(mktemp)
bash scripts/docker/test.sh 2>&1 | tee "$docker_log"
docker_rc=${PIPESTATUS[0]}
read -r dpass dfail < <(sed -nE 's/^docker: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$docker_log" | tail -1; echo "0 1")
rm -f "$docker_log"
[ "$docker_rc" -ne 0 ] && [ "$dfail" -eq 0 ] && dfail=1
pass=$((pass + dpass)); fail=$((fail + dfail))
if [ -n "$tap_failures" ]; then
  echo "failed tap tests (innermost first within each file):"
  echo "$tap_failures"
fi
echo "tests: $pass passed, $fail failed"
if [ "$tap_rc" -ne 0 ] || [ "$compat_rc" -ne 0 ] || [ "$docker_rc" -ne 0 ]; then exit 1; fi
