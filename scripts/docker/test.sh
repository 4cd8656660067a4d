#!/usr/bin/env bash
# Builds the Docker image for real and runs it the way people run the memcached image,
# with podman (these machines have no Docker engine and reach no container registry;
# scripts/docker/base-images.sh makes the base images from Debian packages).
#
#   1. lints the Dockerfile (dockerfilelint, dockerlint);
#   2. builds the image (multi-stage: npm ci + tsc, then the slim runtime);
#   3. runs it with host networking and memcached's flags on a free loopback port:
#        podman run IMAGE -l 127.0.0.1 -p PORT -m 64 -c 2048 -U 0
#      and checks: it serves; the flags reached the server; it runs as PID 1 and not
#      as root; its files are not writable by it; the HEALTHCHECK passes (and fails on
#      a port where nothing listens); memccapable (text, then binary) gives the same
#      results as the same build run on the host, and so does the compat suite;
#      `podman stop` ends it cleanly (exit code 0) in under a second;
#   4. runs a second container configured only by MEMRING_* environment variables;
#   5. runs the README's small cluster: a real ZooKeeper, two memring containers joining
#      it as shards, and the memring-proxy container once the image has it
#      (scripts/docker/cluster-check.mjs);
#   6. reports image size and timings, and removes every container and image it made
#      (the base images stay: they are the stand-in for the registry).
#
# Skips (exit 0, with a banner) only when podman itself cannot run a container here.
# usage: bash scripts/docker/test.sh      (root; after `npm run build` for the host-side checks)
# Last line: "docker: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/docker/env.sh

t_start=$(date +%s%N)
ms_since () { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# PORT [CONTAINER]: polls (up to ~10 s) until `version` is answered on 127.0.0.1:PORT;
# gives up early when the container has exited.
wait_serving () {
  local _
  for _ in $(seq 1 100); do
    MEMRING_HEALTHCHECK_HOST=127.0.0.1 MEMRING_HEALTHCHECK_PORT=$1 MEMRING_HEALTHCHECK_TIMEOUT_MS=500 \
      node scripts/docker/healthcheck.mjs >/dev/null 2>&1 && return 0
    if [ -n "${2:-}" ] && [ "$(podman inspect -f '{{.State.Running}}' "$2" 2>/dev/null)" != true ]; then return 1; fi
    sleep 0.1
  done
  return 1
}

pass=0; fail=0
ok ()     { pass=$((pass + 1)); echo "ok - $*"; }
not_ok () { fail=$((fail + 1)); echo "not ok - $*"; }
check ()  { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
quiet ()  { "$@" >/dev/null 2>&1; }
relay ()  {  # FILE: counts the "ok - "/"not ok - " lines a helper script printed
  local line
  while IFS= read -r line; do
    case "$line" in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) not_ok "${line#not ok - }" ;;
      *) echo "$line" ;;
    esac
  done <"$1"
}
finish () {
  echo "docker: total $(ms_since "$t_start") ms"
  echo "docker: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}
skip () {
  echo "######################################################################"
  echo "## docker: SKIPPED: $*"
  echo "## (podman cannot run containers on this machine; the image was NOT tested)"
  echo "######################################################################"
  echo "docker: 0 passed, 0 failed, 1 skipped"
  exit 0
}

tag=localhost/memring-test:$$
name=memring-test-$$
tmp=$(mktemp -d /var/tmp/memring-docker-test.XXXXXX)
native_pid=""
cleanup () {
  [ -n "$native_pid" ] && kill "$native_pid" 2>/dev/null
  podman rm --force --ignore "$name" "$name-env" "$name-cluster-a" "$name-cluster-b" "$name-cluster-proxy" >/dev/null 2>&1
  podman rmi --force "$tag" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- 0. can podman run here at all? ----
docker_install_tools || skip "could not install the Debian packages ${DOCKER_DEB_PKGS[*]}"
podman info >/dev/null 2>"$tmp/info.err" || skip "podman info failed: $(tail -1 "$tmp/info.err")"
t=$(date +%s%N)
# one test run at a time may create base images; others wait for it
( flock 9; bash scripts/docker/base-images.sh ) 9>/var/tmp/memring-base-images.lock \
  || { not_ok "base images (scripts/docker/base-images.sh)"; finish; }
echo "docker: base images ready in $(ms_since "$t") ms"
podman run --rm localhost/debian-minbase:bookworm true 2>"$tmp/run.err" \
  || skip "podman run of the base image failed: $(tail -1 "$tmp/run.err")"

# ---- 1. lint ----
lint () {  # NAME CMD...: the linter's report is shown only when it complains
  local name=$1; shift
  if "$@" >"$tmp/lint" 2>&1; then ok "$name"; else cat "$tmp/lint"; not_ok "$name"; fi
}
lint "dockerfilelint Dockerfile" npx --no-install dockerfilelint Dockerfile
lint "dockerlint Dockerfile" npx --no-install dockerlint -f Dockerfile

# ---- 2. build ----
# --layers=false: no intermediate images are left behind (nothing to clean up, and
# the build stays reproducible); --format docker keeps the HEALTHCHECK (OCI has none).
t=$(date +%s%N)
if podman build --pull=never --layers=false --format docker -t "$tag" . >"$tmp/build.log" 2>&1; then
  build_ms=$(ms_since "$t")
  ok "podman build ($build_ms ms)"
else
  tail -40 "$tmp/build.log"
  not_ok "podman build"
  finish
fi
size=$(podman image inspect -f '{{.Size}}' "$tag")
base_size=$(podman image inspect -f '{{.Size}}' docker.io/library/node:20-bookworm-slim)
echo "docker: image size $((size / 1000000)) MB; memring's layers on top of node:20-bookworm-slim: $(( (size - base_size) / 1000000 )) MB"
check "image runs as the non-root user node" test "$(podman image inspect -f '{{.Config.User}}' "$tag")" = node
check "image exposes 11211/tcp" grep -q '11211/tcp' <<<"$(podman image inspect -f '{{.Config.ExposedPorts}}' "$tag")"

# ---- 3. run it like the memcached image ----
read -r port port2 port3 closed cport1 cport2 cport3 < <(node -e '
  const net = require("node:net"); const ports = []
  const next = () => { const s = net.createServer().listen(0, "127.0.0.1", () => {
    ports.push(s.address().port); s.close(() => ports.length < 7 ? next() : console.log(ports.join(" "))) }) }
  next()')
help=$(podman run --rm "$tag" --help 2>&1)
check "docker run IMAGE --help prints memring's flags" grep -q -- '--memory-limit' <<<"$help" \
  || echo "$help" | head -20

t=$(date +%s%N)
# --health-interval=disable: podman would schedule the HEALTHCHECK with systemd timers,
# which these machines lack; the check is run by hand below instead.
podman run -d --name "$name" --network host --health-interval=disable \
  "$tag" -l 127.0.0.1 -p "$port" -m 64 -c 2048 -U 0 >/dev/null 2>"$tmp/run.err" \
  || { cat "$tmp/run.err"; not_ok "podman run"; finish; }
ready=""; wait_serving "$port" "$name" && ready=1
if [ -n "$ready" ]; then
  ok "container serves on 127.0.0.1:$port ($(ms_since "$t") ms from podman run)"
else
  not_ok "container serves on 127.0.0.1:$port"
  podman logs "$name" 2>&1 | tail -20
  finish
fi

node scripts/docker/protocol-check.mjs 127.0.0.1 "$port" $((64 * 1024 * 1024)) 2048 >"$tmp/proto" 2>&1
relay "$tmp/proto"

hostpid=$(podman inspect -f '{{.State.Pid}}' "$name")
status=$(cat "/proc/$hostpid/status" 2>/dev/null)
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$status")
check "server process runs as uid 1000 (node), not root (Uid: $uids)" test "$uids" = "1000 1000 1000 1000"
nspid=$(awk '/^NSpid:/ {print $NF}' <<<"$status")
check "server is PID 1 in the container (no shell in front to swallow SIGTERM)" test "$nspid" = 1
check "the node user cannot write the installed code" \
  podman exec "$name" sh -c 'test ! -w /app/dist/bin/memring.js && test ! -w /app/node_modules'

hc=$(podman healthcheck run "$name" 2>&1); hc_rc=$?
check "HEALTHCHECK reports healthy (podman healthcheck run: ${hc:-healthy})" test "$hc_rc" -eq 0
check "HEALTHCHECK fails where nothing listens" \
  bash -c "! podman exec -e MEMRING_HEALTHCHECK_PORT=$closed '$name' node /usr/local/lib/memring/healthcheck.mjs >/dev/null 2>&1"

# memccapable and the compat suite: the container must behave exactly like the same
# build run on the host with the same flags (a server bug is the compat suite's to
# report; here we look for what the image changes).
if [ -f dist/bin/memring.js ]; then
  node dist/bin/memring.js -l 127.0.0.1 -p "$port2" -m 64 -c 2048 -U 0 >"$tmp/native.log" 2>&1 &
  native_pid=$!
  wait_serving "$port2" || echo "docker: the host run of dist/bin/memring.js did not serve: $(tail -3 "$tmp/native.log")"
else
  echo "docker: dist/bin/memring.js is not built: no host run to compare the container with"
fi
capable () {  # MODE PORT: memccapable's report with runs of spaces squeezed
  timeout 60 memccapable "$1" -h 127.0.0.1 -p "$2" 2>&1 | sed -E 's/ +/ /g'
}
# Does the host build answer a binary-protocol VERSION request (magic 0x80, opcode 0x0b)?
# Where it does not, the binary tools would only wait out their timeouts on both sides.
binary_served () {
  node -e '
    const s = require("node:net").connect(Number(process.argv[1]), "127.0.0.1")
    const req = Buffer.alloc(24); req[0] = 0x80; req[1] = 0x0b
    s.on("connect", () => s.write(req)); s.on("error", () => process.exit(1))
    s.on("data", (d) => process.exit(d[0] === 0x81 ? 0 : 1))
    setTimeout(() => process.exit(1), 1000)' "$1"
}
modes="-a"
if [ -n "$native_pid" ] && binary_served "$port2"; then
  modes="-a -b"
else
  echo "docker: this build does not serve the binary protocol on the host: memccapable -b and the compat tests named 'binary' are left out"
fi
if command -v memccapable >/dev/null; then
  for mode in $modes; do
    # container and host at once: the checks sleep for expiry tests, not on the CPU
    capable "$mode" "$port" >"$tmp/cap-container$mode" &
    [ -n "$native_pid" ] && capable "$mode" "$port2" >"$tmp/cap-native$mode"
    wait $!
    n_all=$(grep -cE '^(ascii|binary) ' "$tmp/cap-container$mode")
    n_pass=$(grep -c '\[pass\]' "$tmp/cap-container$mode")
    if [ "$n_all" -eq 0 ]; then
      not_ok "memccapable $mode against the container ran no test"
      head -5 "$tmp/cap-container$mode"
    elif [ -n "$native_pid" ]; then
      h_pass=$(grep -c '\[pass\]' "$tmp/cap-native$mode")
      if diff "$tmp/cap-native$mode" "$tmp/cap-container$mode" >"$tmp/cap-diff"; then
        ok "memccapable $mode against the container: $n_pass/$n_all pass, same as on the host"
      else
        not_ok "memccapable $mode against the container: $n_pass/$n_all pass, host $h_pass (diff host container below)"
        cat "$tmp/cap-diff"
      fi
    else
      check "memccapable $mode against the container: $n_pass/$n_all pass (no host build to compare)" \
        test "$n_pass" -eq "$n_all"
    fi
  done
else
  not_ok "memccapable is not installed (Debian package libmemcached-tools; scripts/setup.sh installs it)"
fi

# The black-box compat suite, with the container and the host run as external targets
# (one run, so both see the same tests); every test must end the same on both.
if [ -f dist/compat-tests/run.js ] && [ -n "$native_pid" ]; then
  t=$(date +%s%N)
  only=()
  case "$modes" in *-b*) ;; *) only=(--only '^(?!binary/)(?!.*binary\))') ;; esac
  node dist/compat-tests/run.js --target "127.0.0.1:$port" --target "127.0.0.1:$port2" \
    "${only[@]}" --deadline 120 --json "$tmp/compat.json" >"$tmp/compat" 2>&1
  compat_ms=$(ms_since "$t")
  if cmp=$(node scripts/docker/compare-compat.mjs "$tmp/compat.json" "127.0.0.1:$port" "127.0.0.1:$port2" "$tmp/compat-retry"); then
    ok "compat suite against the container ($compat_ms ms): $cmp"
  elif [ -s "$tmp/compat-retry" ]; then
    # A test that differs once may be timing (short TTLs on a busy machine): run just
    # those again, on both; what the image breaks differs every time.
    node dist/compat-tests/run.js --target "127.0.0.1:$port" --target "127.0.0.1:$port2" \
      --only "$(cat "$tmp/compat-retry")" --deadline 60 --json "$tmp/compat2.json" >"$tmp/compat2" 2>&1
    if cmp2=$(node scripts/docker/compare-compat.mjs "$tmp/compat2.json" "127.0.0.1:$port" "127.0.0.1:$port2"); then
      ok "compat suite against the container ($compat_ms ms): $cmp; on a rerun of those: $cmp2"
    else
      not_ok "compat suite against the container ($compat_ms ms): $cmp; on a rerun of those: $cmp2"
      tail -30 "$tmp/compat2"
    fi
  else
    not_ok "compat suite against the container ($compat_ms ms): $cmp"
    tail -30 "$tmp/compat"
  fi
else
  echo "docker: dist/compat-tests/run.js or dist/bin/memring.js not built: compat suite not run against the container"
fi
[ -n "$native_pid" ] && { kill "$native_pid" 2>/dev/null; wait "$native_pid" 2>/dev/null; native_pid=""; }

# memring-proxy from the same image, both ways of asking for it.
if podman run --rm --entrypoint sh "$tag" -c 'command -v memring-proxy' >/dev/null 2>&1; then
  check "docker run --entrypoint memring-proxy IMAGE --help" \
    quiet podman run --rm --entrypoint memring-proxy "$tag" --help
  check "docker run IMAGE memring-proxy --help" quiet podman run --rm "$tag" memring-proxy --help
else
  echo "docker: memring-proxy is not built yet (dist/bin/memring-proxy.js): its commands were not tried"
fi

# ---- stop: SIGTERM must end it cleanly, well before podman's 10 s SIGKILL ----
t=$(date +%s%N)
podman stop -t 10 "$name" >/dev/null 2>&1
stop_ms=$(ms_since "$t")
code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
check "podman stop took $stop_ms ms (< 1000 ms)" test "$stop_ms" -lt 1000
check "exit code after SIGTERM is 0 (got $code; 137 = killed, 143 = no SIGTERM handler)" test "$code" = 0
[ "$code" = 0 ] || podman logs "$name" 2>&1 | tail -10

# ---- options from the environment (MEMRING_*), as compose files and orchestrators pass them ----
if podman run -d --name "$name-env" --network host --health-interval=disable \
     -e MEMRING_LISTEN=127.0.0.1 -e MEMRING_PORT="$port3" -e MEMRING_MEMORY_LIMIT=32 -e MEMRING_CONN_LIMIT=100 \
     "$tag" >/dev/null 2>"$tmp/run.err" && wait_serving "$port3" "$name-env"; then
  node scripts/docker/protocol-check.mjs 127.0.0.1 "$port3" $((32 * 1024 * 1024)) 100 >"$tmp/proto-env" 2>&1
  check "MEMRING_* environment variables configure the server (no flags)" test $? -eq 0 || cat "$tmp/proto-env"
  check "HEALTHCHECK finds the port from MEMRING_PORT" quiet podman healthcheck run "$name-env"
else
  not_ok "container configured by MEMRING_* environment variables serves on 127.0.0.1:$port3"
  cat "$tmp/run.err"; podman logs "$name-env" 2>&1 | tail -10
fi

# ---- the README's small cluster: ZooKeeper + two memring containers (+ the proxy) ----
if [ -f dist/lib/testing/zookeeper.js ]; then
  t=$(date +%s%N)
  node scripts/docker/cluster-check.mjs "$tag" "$cport1" "$cport2" "$cport3" "$name-cluster" >"$tmp/cluster" 2>&1
  relay "$tmp/cluster"
  echo "docker: cluster check took $(ms_since "$t") ms"
else
  echo "docker: dist/lib/testing/zookeeper.js is not built: the cluster check was not run"
fi

cleanup; trap - EXIT
check "no container or image left behind" \
  test -z "$(podman ps -a --filter "name=^$name" -q)$(podman images -q "$tag")"
echo "docker: build ${build_ms} ms, image $((size / 1000000)) MB, stop ${stop_ms} ms"
finish
