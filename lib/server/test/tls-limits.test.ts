/**
 * TLS listeners stay bounded: sockets that never finish their handshake are not
 * Connections (so -c does not count them); the listener closes those past 2 x -c, and a
 * client past -c that does finish its handshake gets memcached's `ERROR Too many open
 * connections` over TLS. Real sockets, real handshakes.
 */
import t from 'tap'
import net from 'node:net'
import { startServer } from '../../testing/servers.js'
import { haveOpenssl, makeCerts } from '../../testing/certs.js'
import { tlsConnect } from '../../testing/tls-clients.js'
import { defaultTlsSettings } from '../tls.js'

if (!haveOpenssl()) t.plan(0, 'openssl not installed')

t.test('silent sockets past 2 x -c are closed; a TLS client past -c is told', async (t) => {
  const certs = makeCerts(t)
  const server = await startServer(t, { maxConns: 2, tls: { ...defaultTlsSettings(), enabled: true, chainCert: certs.serverCert, key: certs.serverKey } })
  const silent: Array<{ closed: boolean }> = []
  const socks: net.Socket[] = []
  for (let i = 0; i < 10; i++) {
    const s = net.connect(server.port, '127.0.0.1')
    const st = { closed: false }
    s.on('error', () => {})
    s.on('close', () => { st.closed = true })
    silent.push(st)
    socks.push(s)
    await new Promise((resolve) => s.once('connect', resolve))
  }
  t.teardown(() => { for (const s of socks) s.destroy() })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(silent.filter((s) => !s.closed).length, 4, 'four silent sockets are kept (2 x -c), six closed')
  for (const s of socks) s.resetAndDestroy() // RST: the server forgets them at once
  await new Promise((resolve) => setTimeout(resolve, 200))
  const ok = [await tlsConnect(server.port, { ca: certs.ca }), await tlsConnect(server.port, { ca: certs.ca })]
  t.teardown(() => { for (const s of ok) s.destroy() })
  const third = await tlsConnect(server.port, { ca: certs.ca })
  const reply = await new Promise<string>((resolve) => {
    let got = ''
    third.on('data', (d) => { got += d.toString() })
    third.on('close', () => resolve(got))
    third.on('error', () => resolve(got))
  })
  t.equal(reply, 'ERROR Too many open connections\r\n', 'the client past -c hears why, over TLS')
  ok[0]!.write('version\r\n')
  t.match(await new Promise<string>((resolve) => ok[0]!.once('data', (d) => resolve(d.toString()))), /^VERSION /, 'the admitted ones are served')
})
