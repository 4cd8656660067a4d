// The README's "small cluster with containers", run for real by scripts/docker/test.sh:
// a real ZooKeeper (Debian package, on the host, loopback), two memring containers
// that join it as shards 0 and 1, and - once the image has it - a memring-proxy
// container in front of them. Host networking and loopback addresses only.
//
// Checks: each container registers itself in ZooKeeper (/memring/<cluster>/nodes)
// with its shard, address and `pid 1`; through the proxy, keys round-trip and land on
// both shards, and its HEALTHCHECK passes; `podman stop` of the proxy and of a host
// ends them with exit code 0 in under 2 s, and the host's node vanishes at once (the
// session is closed on SIGTERM, not left to expire). Prints "ok"/"not ok" lines and timings; the
// exit code is the number of failures.
//
// usage: node cluster-check.mjs IMAGE PORT_A PORT_B PORT_PROXY NAME_PREFIX
import { spawnSync } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zookeeper from 'node-zookeeper-client'

const [image, portA, portB, portProxy, prefix] = process.argv.slice(2)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const { startZooKeeper, zooKeeperAvailable } = await import(path.join(root, 'dist/lib/testing/zookeeper.js'))
const CLUSTER = 'docker-check'
// A cluster member closes its ZooKeeper session before it exits (about 0.7 s here, a
// round trip to the ZooKeeper JVM on a busy 2-core machine), so it gets more than the
// standalone server's 1 s; still far from the 10 s after which podman would SIGKILL.
const STOP_LIMIT_MS = 2000

let failed = 0
const ok = (cond, name, detail = '') => {
  if (cond) console.log(`ok - ${name}`)
  else { failed++; console.log(`not ok - ${name}${detail ? ': ' + detail : ''}`) }
  return cond
}
const podman = (...args) => spawnSync('podman', args, { encoding: 'utf8' })
const teardowns = []
const names = []

async function waitFor (fn, timeoutMs, stepMs = 50) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) return null
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}

/** Sends one request and resolves with the reply once it ends with `terminator` (or null). */
function exchange (port, request, terminator, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: Number(port) })
    let got = ''
    const done = (v) => { clearTimeout(timer); sock.destroy(); resolve(v) }
    const timer = setTimeout(() => done(null), timeoutMs)
    sock.setEncoding('latin1')
    sock.on('connect', () => sock.write(request))
    sock.on('data', (d) => { got += d; if (got.endsWith(terminator)) done(got) })
    sock.on('error', () => done(null))
  })
}

function zkClient (connectString) {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 5000 })
    const timer = setTimeout(() => reject(new Error('ZooKeeper client did not connect in 10 s')), 10_000)
    c.once('connected', () => { clearTimeout(timer); resolve(c) })
    c.connect()
  })
}

/** name -> parsed data of every registered host (empty when the path does not exist yet). */
function registered (zk) {
  const base = `/memring/${CLUSTER}/nodes`
  return new Promise((resolve) => {
    zk.getChildren(base, (err, children) => {
      if (err) return resolve(new Map())
      const out = new Map()
      let left = children.length
      if (left === 0) return resolve(out)
      for (const ch of children) {
        zk.getData(`${base}/${ch}`, (e, data) => {
          if (!e) { try { out.set(ch, JSON.parse(String(data))) } catch { out.set(ch, null) } }
          if (--left === 0) resolve(out)
        })
      }
    })
  })
}

async function main () {
  if (!zooKeeperAvailable()) {
    ok(false, 'ZooKeeper is installed (Debian package zookeeper; scripts/setup.sh installs it)')
    return
  }
  const t0 = Date.now()
  const zkServer = await startZooKeeper({ teardown: (fn) => teardowns.push(fn) })
  const zkAddr = `127.0.0.1:${zkServer.port}`
  console.log(`cluster: ZooKeeper serving on ${zkAddr} after ${Date.now() - t0} ms`)
  const zk = await zkClient(zkAddr)
  teardowns.push(() => zk.close())

  const hosts = [['a', portA, '0'], ['b', portB, '1']]
  for (const [suffix, port, shard] of hosts) {
    const name = `${prefix}-${suffix}`
    names.push(name)
    const r = podman('run', '-d', '--name', name, '--network', 'host', '--health-interval=disable', image,
      '-l', '127.0.0.1', '-p', port, '-m', '16', '-U', '0',
      '--zk', zkAddr, '--cluster', CLUSTER, '--shard', shard)
    if (!ok(r.status === 0, `podman run ${name} (shard ${shard})`, r.stderr.trim())) return
  }
  const t1 = Date.now()
  // Registered, then elected master of their (new) shards.
  const nodes = await waitFor(async () => { const m = await registered(zk); return m.size === 2 && [...m.values()].every((d) => d?.role === 'master') ? m : null }, 15_000)
  if (!ok(nodes !== null, 'both containers register in ZooKeeper and are elected masters', `found ${[...(await registered(zk)).keys()].join(', ') || 'none'}`)) return
  console.log(`cluster: both hosts registered ${Date.now() - t1} ms after podman run`)
  for (const [, port, shard] of hosts) {
    const d = nodes.get(`127.0.0.1:${port}`)
    ok(d !== undefined && d !== null && d.shard === shard && d.port === Number(port) && d.pid === 1,
      `127.0.0.1:${port} is registered as shard ${shard}, served by PID 1 of its container`, JSON.stringify(d))
  }

  // The proxy, when the image has it (bin/memring-proxy), routes by key over the two shards.
  const hasProxy = podman('run', '--rm', '--entrypoint', 'sh', image, '-c', 'command -v memring-proxy').status === 0
  if (hasProxy) {
    const name = `${prefix}-proxy`
    names.push(name)
    const r = podman('run', '-d', '--name', name, '--network', 'host', '--health-interval=disable', '--entrypoint', 'memring-proxy', image,
      '-l', '127.0.0.1', '-p', portProxy, '--zk', zkAddr, '--cluster', CLUSTER)
    if (ok(r.status === 0, 'podman run --entrypoint memring-proxy', r.stderr.trim())) {
      const up = await waitFor(() => exchange(portProxy, 'version\r\n', '\r\n', 500), 15_000, 100)
      ok(up !== null && up.startsWith('VERSION '), 'the proxy container answers version', String(up))
      const keys = Array.from({ length: 20 }, (_, i) => `docker-cluster-${i}`)
      for (const k of keys) await exchange(portProxy, `set ${k} 0 0 ${k.length}\r\n${k}\r\n`, '\r\n')
      const got = await exchange(portProxy, `get ${keys.join(' ')}\r\n`, 'END\r\n')
      const hits = (got ?? '').split('\r\n').filter((l) => l.startsWith('VALUE ')).length
      ok(hits === keys.length, `20 keys set and read back through the proxy (${hits} hits)`)
      // keys hash over shards: each host holds some of them, and together all
      const a = await exchange(portA, `get ${keys.join(' ')}\r\n`, 'END\r\n')
      const b = await exchange(portB, `get ${keys.join(' ')}\r\n`, 'END\r\n')
      const na = (a ?? '').split('\r\n').filter((l) => l.startsWith('VALUE ')).length
      const nb = (b ?? '').split('\r\n').filter((l) => l.startsWith('VALUE ')).length
      ok(na > 0 && nb > 0 && na + nb === keys.length, `the proxy spread the keys over both shards (${na} + ${nb})`)
      const hc = podman('healthcheck', 'run', name)
      ok(hc.status === 0, 'HEALTHCHECK of the proxy container reports healthy', (hc.stdout + hc.stderr).trim())
      const t = Date.now()
      podman('stop', '-t', '10', name)
      const ms = Date.now() - t
      const code = podman('inspect', '-f', '{{.State.ExitCode}}', name).stdout.trim()
      ok(code === '0' && ms < STOP_LIMIT_MS, `the proxy stops cleanly on SIGTERM (exit code ${code}, podman stop ${ms} ms < ${STOP_LIMIT_MS})`)
    }
  } else {
    console.log('cluster: memring-proxy is not in the image yet: the proxy part was not run')
  }

  // SIGTERM closes the ZooKeeper session: the node vanishes now, not after the session timeout.
  const name = `${prefix}-a`
  const t2 = Date.now()
  podman('stop', '-t', '10', name)
  const stopMs = Date.now() - t2
  const code = podman('inspect', '-f', '{{.State.ExitCode}}', name).stdout.trim()
  ok(code === '0' && stopMs < STOP_LIMIT_MS, `cluster host stops cleanly on SIGTERM (exit code ${code}, podman stop ${stopMs} ms < ${STOP_LIMIT_MS})`)
  const gone = await waitFor(async () => !(await registered(zk)).has(`127.0.0.1:${portA}`), 1000)
  ok(gone !== null, `its ZooKeeper node is gone within 1 s of the stop (session closed, not expired)`)
}

try {
  await main()
} catch (err) {
  ok(false, 'cluster check', err.stack)
} finally {
  for (const n of names) podman('rm', '--force', '--ignore', n)
  for (const fn of teardowns.reverse()) { try { await fn() } catch { /* already gone */ } }
}
process.exit(failed)
