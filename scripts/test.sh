#!/usr/bin/env bash
# The whole test suite, on an already built tree (npm test builds first):
#   1. typecheck is the build itself (tsc, strict) — done by `npm test` before this script;
#   2. every unit/integration test file (tap, compiled JS under dist/, 2 jobs);
#   3. the black-box compat suite against real memcached and memring (compat-tests/).
# Ends with one line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
npx tap --disable-coverage --jobs 2 --timeout 300 --reporter=tap 'dist/**/*.test.js' 2>&1 | tee "$log"
tap_rc=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total:' "$log" | tail -1)
total=$(sed -E 's/.*total: ([0-9]+).*/\1/' <<<"$summary")
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
rm -f "$log"
total=${total:-0}; pass=${pass:-0}
fail=$((total - pass))
[ "$tap_rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
compat_rc=0
if [ -f dist/compat-tests/run.js ]; then
  node dist/compat-tests/run.js --target memcached --target memring || compat_rc=$?
fi
echo "test files: $pass passed, $fail failed"
if [ "$tap_rc" -ne 0 ] || [ "$compat_rc" -ne 0 ]; then exit 1; fi
