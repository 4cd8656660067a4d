/**
 * -R (reqs_per_event) and `stats conn_yields`, against real memcached with the same flag:
 * a pipeline sent in one write is served -R requests per wake-up, and each wake-up that
 * runs out counts a yield. memcached's count depends on its state machine's turns, so
 * memring is held to within one of it (memcached's own t/issue_61.t wants >= 5 yields for
 * six sets at -R 1).
 */
import t from 'tap'
import net from 'node:net'
import { startServer } from '../../testing/servers.js'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'

async function connYields (port: number): Promise<number> {
  const s = net.connect(port, '127.0.0.1')
  let got = ''
  const stats = await new Promise<string>((resolve, reject) => {
    s.once('error', reject)
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.endsWith('END\r\n')) resolve(got) })
    s.write('stats\r\n')
  })
  s.destroy()
  return Number(/STAT conn_yields (\d+)\r\n/.exec(stats)?.[1])
}

/** Sends payload in one write and waits for its replies; returns the yields it caused. */
async function yieldsAfter (port: number, payload: Buffer, done: (got: Buffer) => boolean): Promise<number> {
  const before = await connYields(port)
  const s = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  let got = Buffer.alloc(0)
  await new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => { got = Buffer.concat([got, d]); if (done(got)) resolve() })
    s.write(payload)
  })
  s.destroy()
  return (await connYields(port)) - before
}

const count = (b: Buffer, s: string): number => b.toString('latin1').split(s).length - 1
function binGet (key: string): Buffer {
  const h = Buffer.alloc(24 + key.length)
  h[0] = 0x80; h.writeUInt16BE(key.length, 2); h.writeUInt32BE(key.length, 8); h.write(key, 24)
  return h
}
const scripts: Array<[string, Buffer, (b: Buffer) => boolean]> = [
  ['6 sets', Buffer.from('set foobar 0 0 5\r\nBubba\r\n'.repeat(6)), (b) => count(b, 'STORED\r\n') === 6],
  ['45 gets', Buffer.from('get foobar\r\n'.repeat(45)), (b) => count(b, 'END\r\n') === 45],
  ['45 binary gets', Buffer.concat(Array.from({ length: 45 }, () => binGet('foobar'))), (b) => b.length >= 45 * (24 + 'Not found'.length)],
]

t.test('conn_yields follows memcached within one, per -R and script', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  for (const r of [1, 2, 5, 20]) {
    const mc = await startMemcached(t, ['-R', String(r)])
    const mr = await startServer(t, { maxReqsPerEvent: r })
    for (const [name, payload, done] of scripts) {
      const want = await yieldsAfter(mc.port, payload, done)
      const got = await yieldsAfter(mr.port, payload, done)
      t.ok(Math.abs(got - want) <= 1, `-R ${r}, ${name}: memring ${got}, memcached ${want}`)
    }
  }
})
