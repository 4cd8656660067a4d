// The proxy with TLS on both sides: clients reach it with TLS (-Z, the server's flags), it
// reaches memring hosts started with -Z and ssl_verify_mode=2 with its own client
// certificate (--backend-tls), and a host in ZooKeeper advertises that it requires TLS.
// Real processes, real certificates from the openssl CLI, real s_client and ZooKeeper.
import t from 'tap'
import fs from 'node:fs'
import { createProxy, type MemringProxy, type ProxyOptions } from '../proxy.js'
import { defaultTlsSettings } from '../../server/tls.js'
import { ChildServer, MEMRING_BIN, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { spawnSync } from 'node:child_process'
import { haveOpenssl, makeCerts, type TestCerts } from '../../testing/certs.js'
import { plainExchange, sClient } from '../../testing/tls-clients.js'
import { freePort, startZooKeeper, zooKeeperAvailable, type Teardown } from '../../testing/zookeeper.js'
import { waitFor } from '../../testing/wait-for.js'

if (!haveOpenssl()) t.plan(0, 'openssl not installed')
const certs = makeCerts(t)

/** A memring host requiring client certificates on its TLS port, with a notls: port beside it. */
async function tlsHost (t: Teardown, c: TestCerts): Promise<{ tls: number, plain: number }> {
  const p = { tls: await freePort(), plain: await freePort() }
  const child = new ChildServer(MEMRING_BIN, p.plain, ['-p', String(p.tls), '-l', `127.0.0.1:${p.tls},notls:127.0.0.1:${p.plain}`, '-U', '0', '-m', '32',
    '-Z', '-o', `ssl_chain_cert=${c.serverCert},ssl_key=${c.serverKey},ssl_ca_cert=${c.ca},ssl_verify_mode=2`])
  t.teardown(() => child.kill())
  await child.start()
  return p
}

async function proxyWith (t: Teardown, opts: Omit<ProxyOptions, 'port'>): Promise<MemringProxy> {
  const proxy = createProxy({ port: 0, ...opts })
  await proxy.start()
  t.teardown(() => proxy.close())
  return proxy
}

const frontTls = { ...defaultTlsSettings(), enabled: true, chainCert: certs.serverCert, key: certs.serverKey }
const profile = { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) }

t.test('TLS client -> proxy -> TLS host with the proxy\'s client certificate', async (t) => {
  const host = await tlsHost(t, certs)
  const proxy = await proxyWith(t, {
    tls: frontTls,
    topology: { kind: 'static', servers: [{ host: '127.0.0.1', port: host.tls }] },
    backend: { tls: { all: true, profile }, timeoutMs: 2000 },
  })
  const r = await sClient(proxy.port, 'set k 0 0 5\r\nhello\r\nget k\r\nrefresh_certs\r\nquit\r\n', ['-CAfile', certs.ca])
  t.equal(r.out, 'STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\nOK\r\n', 'served over TLS at both hops; refresh_certs reloads the proxy\'s files')
  const direct = await plainExchange(host.plain, 'get k\r\nquit\r\n')
  t.equal(direct.out, 'VALUE k 0 5\r\nhello\r\nEND\r\n', 'the value reached the host (read on its notls: port)')
  t.same(await plainExchange(proxy.port, 'get k\r\n'), { out: '', closed: true }, 'plaintext on the proxy\'s TLS port: no reply, closed')
  const ps = await sClient(proxy.port, 'stats proxy\r\nquit\r\n', ['-CAfile', certs.ca])
  t.match(ps.out, /^STAT ssl_handshake_errors 1\r$/m, 'stats proxy counts that failed handshake')
  const bad = await sClient(proxy.port, 'get k\r\nquit\r\n', ['-CAfile', certs.wrongCa])
  t.equal(bad.out, '', 'a client that distrusts the proxy\'s certificate gets nothing')
})

t.test('the host refuses a proxy without a client certificate, or one that distrusts it', async (t) => {
  const host = await tlsHost(t, certs)
  for (const [name, p] of [
    ['no client certificate', { ca: profile.ca }],
    ['the host\'s certificate from an unknown CA', { ...profile, ca: fs.readFileSync(certs.wrongCa) }],
  ] as const) {
    const proxy = await proxyWith(t, {
      topology: { kind: 'static', servers: [{ host: '127.0.0.1', port: host.tls }] },
      backend: { tls: { all: true, profile: p }, timeoutMs: 1000 },
    })
    const r = await plainExchange(proxy.port, 'set x 0 0 1\r\n1\r\nquit\r\n', 3000)
    t.match(r.out, /^SERVER_ERROR /, `${name}: the write fails (${r.out.trim()})`)
    t.equal((await plainExchange(host.plain, 'get x\r\nquit\r\n')).out, 'END\r\n', `${name}: nothing reached the host`)
  }
})

t.test('a cluster host with -Z advertises TLS in ZooKeeper; the proxy follows it', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const tlsArgs = ['-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey},ssl_ca_cert=${certs.ca},ssl_verify_mode=2`]
  const host = await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'tls', '--shard', '0', '--zk-session-timeout', '2000', ...tlsArgs])
  // No --backend-tls: only the host's record makes the proxy use TLS (with these files).
  const proxy = await proxyWith(t, {
    topology: { kind: 'zk', zk: zk.connectString, cluster: 'tls', sessionTimeoutMs: 2000 },
    backend: { tls: { all: false, profile }, timeoutMs: 2000 },
  })
  const entry = await waitFor(() => [...proxy.router.topology.hosts.values()].find((h) => h.port === host.port && h.role === 'master'),
    { timeoutMs: 15_000, what: 'the host elected master in the topology' })
  t.equal(entry.tls, true, 'its record says it requires TLS')
  const r = await plainExchange(proxy.port, 'set z 0 0 2\r\nok\r\nget z\r\nquit\r\n', 3000)
  t.equal(r.out, 'STORED\r\nVALUE z 0 2\r\nok\r\nEND\r\n', 'plaintext client, TLS from the proxy to the host')
})

t.test('the memring-proxy binary: -Z -o ssl_* and --backend-tls* from the command line', async (t) => {
  const host = await tlsHost(t, certs)
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '--servers', `127.0.0.1:${host.tls}`,
    '-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey},ssl_ca_cert=${certs.ca},ssl_verify_mode=2`,
    '--backend-tls', '--backend-tls-ca', certs.ca, '--backend-tls-cert', certs.clientCert, '--backend-tls-key', certs.clientKey])
  t.teardown(() => proxy.kill())
  await proxy.start()
  const r = await sClient(port, 'set b 0 0 3\r\nbin\r\nget b\r\nquit\r\n', ['-CAfile', certs.ca, '-cert', certs.clientCert, '-key', certs.clientKey])
  t.equal(r.out, 'STORED\r\nVALUE b 0 3\r\nbin\r\nEND\r\n', 'TLS with client certificates at both hops')
  const none = await sClient(port, 'get b\r\nquit\r\n', ['-CAfile', certs.ca])
  t.equal(none.out, '', 'ssl_verify_mode=2 on the proxy: no certificate, no service')
  const run = (args: string[]): { code: number | null, last: string, err: string } => {
    const x = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--servers', '127.0.0.1:1', ...args], { encoding: 'utf8', timeout: 20_000 })
    const lines = x.stderr.trim().split('\n')
    return { code: x.status, last: lines[lines.length - 1] ?? '', err: x.stderr }
  }
  t.match(run(['-Z']), { code: 2, last: 'Error loading the certificate chain: (null) : error:8000000E:system library::Bad address' }, '-Z without files: memcached\'s message')
  t.match(run(['-o', 'hashpower=20']), { code: 2, err: /takes only the ssl_\* suboptions, not 'hashpower'/ }, 'only ssl_* suboptions')
  t.match(run(['--backend-tls-cert', certs.clientCert]), { code: 2, err: /--backend-tls-cert and --backend-tls-key go together/ })
})
