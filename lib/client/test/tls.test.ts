// The Node client over TLS to memring hosts started with -Z and ssl_verify_mode=2: with
// `tls.all` for a static list, and on a ZooKeeper cluster by the host's own record (no
// `all`: the record's tls flag decides). Real processes, certificates from openssl.
import t from 'tap'
import fs from 'node:fs'
import { Client, ZooKeeperShards } from '../index.js'
import { startMemringProcess } from '../../testing/memring-process.js'
import { haveOpenssl, makeCerts } from '../../testing/certs.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { waitFor } from '../../testing/wait-for.js'

if (!haveOpenssl()) t.plan(0, 'openssl not installed')
const certs = makeCerts(t)
const tlsArgs = ['-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey},ssl_ca_cert=${certs.ca},ssl_verify_mode=2`]
const options = { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) }

t.test('a static list with tls.all', async (t) => {
  const host = await startMemringProcess(t, tlsArgs)
  const c = new Client({ servers: [{ host: '127.0.0.1', port: host.port }], tls: { all: true, options } })
  t.teardown(() => c.close())
  t.equal(await c.set('k', 'over tls'), true)
  t.equal((await c.get('k'))?.toString(), 'over tls')
  const noCert = new Client({ servers: [{ host: '127.0.0.1', port: host.port }], tls: { all: true, options: { ca: options.ca } }, requestTimeoutMs: 500, connectTimeoutMs: 500 })
  t.teardown(() => noCert.close())
  await t.rejects(noCert.get('k'), 'without a client certificate the host refuses it')
})

t.test('on a cluster, the host\'s record asks for TLS', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'ct', '--shard', 's1', '--zk-session-timeout', '2000', ...tlsArgs])
  const shards = await ZooKeeperShards.start({ zk: zk.connectString, cluster: 'ct', sessionTimeoutMs: 2000 })
  t.teardown(() => shards.close())
  const primary = await waitFor(() => shards.current().find((s) => s.id === 's1')?.primary, { timeoutMs: 20_000, what: 's1 has a master' })
  t.equal(primary.tls, true, 'the discovered address says tls')
  const c = new Client({ servers: shards, tls: { options } })
  t.teardown(() => c.close())
  await waitFor(async () => await c.set('z', 'zk tls').catch(() => false), { timeoutMs: 10_000, what: 'a write through the elected master' })
  t.equal((await c.get('z'))?.toString(), 'zk tls')
})
