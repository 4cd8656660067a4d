/**
 * `watch connevents` and `stats conns`, side by side with real memcached on TCP and on a
 * unix socket: the same lines once the parts that differ by nature are masked (timestamps,
 * gids, fds/ids, ports, seconds).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { haveMemcached, MEMCACHED_BIN, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'

type Dial = () => net.Socket
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

class Lines {
  buf = ''
  constructor (readonly s: net.Socket) { s.on('data', (d: Buffer) => { this.buf += d.toString('latin1') }); s.on('error', () => {}) }
  async next (n = 1, ms = 5000): Promise<string[]> {
    const end = Date.now() + ms
    while (this.buf.split('\n').length - 1 < n && Date.now() < end) await sleep(10)
    const parts = this.buf.split('\n')
    const got = parts.slice(0, n)
    this.buf = parts.slice(n).join('\n')
    return got
  }
}

const mask = (l: string): string => l.replace(/ts=\d+\.\d+ gid=\d+ /, '').replace(/rport=\d+/, 'rport=P').replace(/cfd=\d+/, 'cfd=N').replace(/\r$/, '')

async function connEvents (dial: Dial): Promise<string[]> {
  const w = new Lines(dial())
  w.s.write('watch connevents\r\n')
  const ok = await w.next()
  const out = [ok[0]!]
  const c1 = dial() // a client that quits (and reads, so it answers our FIN as clients do)
  c1.on('error', () => {})
  c1.resume()
  c1.write('version\r\nquit\r\n')
  out.push(...(await w.next(2)).map(mask))
  const c2 = dial() // a client that closes the socket itself
  c2.on('error', () => {})
  await new Promise((resolve) => c2.once('connect', resolve))
  c2.end()
  out.push(...(await w.next(2)).map(mask))
  const c3 = dial() // a protocol error that closes the connection
  c3.on('error', () => {})
  c3.resume()
  c3.write('GET / HTTP/1.1\r\n')
  out.push(...(await w.next(2)).map(mask))
  w.s.destroy()
  await sleep(200) // every connection of this script gone before the next look
  return out
}

async function statsConns (dial: Dial): Promise<string> {
  const reader = new Lines(dial())
  const writer = dial()
  writer.on('error', () => {})
  writer.write('set foo 0 0 6\r\n') // waits for its data block: conn_nread
  await sleep(300)
  reader.s.write('stats conns\r\n')
  const end = Date.now() + 5000
  while (!reader.buf.includes('END\r\n') && Date.now() < end) await sleep(10)
  reader.s.destroy(); writer.destroy()
  // Ids differ (fds vs counters) and so do ports and seconds: keep the shape, sorted.
  // out_bytes is memring's own row (not memcached's).
  return reader.buf.split('\r\n').filter((l) => l.startsWith('STAT ') && !/:out_bytes /.test(l))
    .map((l) => l.replace(/^STAT \d+:/, 'STAT N:').replace(/:\d+$/, ':P').replace(/secs_since_last_cmd \d+/, 'secs_since_last_cmd S'))
    .sort().join('\n')
}

t.test('TCP: connevents lines and stats conns as memcached', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mc = await startMemcached(t)
  const mr = await startServer(t)
  const dial = (port: number): Dial => () => net.connect(port, '127.0.0.1')
  const want = await connEvents(dial(mc.port))
  const got = await connEvents(dial(mr.port))
  t.same(got, want, 'conn_new / conn_close lines with reasons normal, normal, error')
  t.match(got.join('\n'), /type=conn_close rip=127\.0\.0\.1 rport=P transport=tcp reason=error/, 'the HTTP line closes with reason=error')
  t.equal(await statsConns(dial(mr.port)), await statsConns(dial(mc.port)), 'stats conns: listener row, conn_nread, conn_parse_cmd')
})

t.test('unix socket: transport=local, rip=unix, and memcached\'s stats conns rows', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  // Short paths: memcached's `stats conns` cuts a listener's address at 31 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc'))
  const mcPath = path.join(dir, 'a.sock')
  const mrPath = path.join(dir, 'b.sock')
  const mc = spawn(MEMCACHED_BIN, ['-u', 'root', '-s', mcPath], { stdio: 'ignore' })
  t.teardown(() => { mc.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }) })
  for (let i = 0; i < 100 && !fs.existsSync(mcPath); i++) await sleep(20)
  await startServer(t, { unixSocket: mrPath, port: 0 })
  const want = await connEvents(() => net.connect(mcPath))
  const got = await connEvents(() => net.connect(mrPath))
  t.same(got, want, 'the same lines on a unix socket')
  t.match(got[1], /rip=unix rport=P transport=local/, 'rip=unix transport=local')
  const norm = (s: string, p: string): string => s.split(p).join('PATH')
  t.equal(norm(await statsConns(() => net.connect(mrPath)), mrPath), norm(await statsConns(() => net.connect(mcPath)), mcPath), 'stats conns rows as memcached\'s, paths aside')
})

t.test('-W (--disable-watch): watch is refused as memcached refuses it', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mc = await startMemcached(t, ['-W'])
  const mr = await startServer(t, { watchEnabled: false })
  const ask = async (port: number): Promise<string> => {
    const l = new Lines(net.connect(port, '127.0.0.1'))
    l.s.write('watch mutations\r\n')
    const [line] = await l.next()
    l.s.destroy()
    return line!
  }
  const want = await ask(mc.port)
  t.equal(want, 'CLIENT_ERROR watch commands not allowed\r', 'memcached -W')
  t.equal(await ask(mr.port), want, 'memring, same line')
})
