/**
 * Large items against memcached 1.6.18 (issue 19): values around and above slab_chunk_max
 * (chained items), up to -I 1m and beyond with -I 4m, a smaller -o slab_chunk_max, and
 * append/prepend/incr on chained items. Each script goes to a fresh memcached and a fresh
 * memring with the same flags; the replies must be the same bytes, and so must the `stats
 * slabs` / `stats items` rows that say where the items went (chunk sizes, pages and used
 * chunks of the value classes, the LRU class holding each item). memcached is the oracle.
 *
 * Left out of the rows compared: the class of a chained item's head (memcached's header is
 * 56 bytes plus a chunk header, memring's 40: the heads land one class apart), and byte
 * counts (mem_requested: the same difference).
 */
import t from 'tap'
import { exchange } from '../../testing/raw-client.js'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { serverSettings } from '../../app/config.js'

const skip = haveMemcached() ? false : 'memcached not installed'

/** A value of n bytes that differs at every offset modulo 251 (a misplaced chunk shows). */
function value (n: number, salt: number): string {
  let s = ''
  const unit = Array.from({ length: 251 }, (_, i) => String.fromCharCode(33 + ((i * 7 + salt) % 90))).join('')
  while (s.length < n) s += unit
  return s.slice(0, n)
}

const set = (cmd: string, key: string, n: number, salt: number, flags = 0): string => `${cmd} ${key} ${flags} 0 ${n}\r\n${value(n, salt)}\r\n`

/** memcached stores an item chunked above 524288 with this much value for a 2-byte key. */
const MC_EDGE = 524288 - 48 - 8 - 2 - 1 - 2

/** placement false: append/prepend, whose chunks memcached sizes while it copies the two
 *  values (each new chunk for what is left of the piece being copied), so its chunk split
 *  differs from memring's, which sizes the new item's chunks once for the total. */
interface Script { name: string, req: string, args?: string[], placement?: false }

const scripts: Script[] = [
  {
    name: 'values around slab_chunk_max, with and without flags',
    req: [MC_EDGE - 1, MC_EDGE, MC_EDGE + 1, MC_EDGE + 40, 524288, 524288 + 1].map((n, i) => set('set', `k${i}`, n, i, i % 2 === 0 ? 0 : 7)).join('') +
      'get k0 k1 k2 k3 k4 k5\r\n',
  },
  {
    name: 'chained values up to -I 1m: one full chunk, one and a half, the largest accepted',
    req: set('set', 'a', 524288 + 1000, 1) + set('set', 'b', 786432, 2) + set('set', 'c', 1048516, 3) + set('set', 'd', 1048517, 4) + 'get a b c d\r\n',
  },
  {
    name: '-I 4m: chains of several chunks',
    args: ['-I', '4m', '-m', '64'],
    req: set('set', 'x', 3 * 1024 * 1024 + 12345, 5, 3) + set('set', 'y', 2 * 1024 * 1024, 6) + 'get x\r\ngets y\r\ndelete y\r\nget y\r\n',
  },
  {
    name: 'append and prepend on chained items, and growing a small item into a chained one',
    req: set('set', 'c', 600000, 7, 9) + set('append', 'c', 70000, 8) + set('prepend', 'c', 1000, 9) + 'get c\r\n' +
      set('set', 's', 500000, 10) + set('append', 's', 100000, 11) + 'get s\r\n' +
      set('prepend', 'c', 600000, 12) + 'get c\r\n',
    placement: false,
  },
  {
    name: 'incr/decr on a chained value is non-numeric; touch and gat work',
    req: set('set', 'n', 600000, 13) + 'incr n 1\r\ndecr n 1\r\ntouch n 100\r\ngat 0 n\r\n',
  },
  {
    name: '-o slab_chunk_max=16384: a 100 KB value is chained from 16 KiB chunks',
    args: ['-o', 'slab_chunk_max=16384'],
    req: set('set', 'm', 100000, 14, 1) + 'get m\r\n' + set('append', 'm', 20000, 15) + 'get m\r\n',
    placement: false,
  },
  {
    name: '-o slab_chunk_max=16384: placement of a 100 KB chained value',
    args: ['-o', 'slab_chunk_max=16384'],
    req: set('set', 'm', 100000, 14, 1) + set('set', 'n', 40000, 16) + 'get m n\r\n',
  },
]

/** The `stats slabs` / `stats items` rows that say where items went (see the file comment). */
async function placement (port: number): Promise<string> {
  const out = (await exchange(port, 'stats slabs\r\nstats items\r\n')).toString('latin1')
  const lines = out.split('\r\n')
  // Value classes: chunks of 1 KiB and more (heads are a few hundred bytes).
  const valueClass = new Set(lines.flatMap((l) => {
    const m = /^STAT (\d+):chunk_size (\d+)$/.exec(l)
    return m !== null && Number(m[2]) >= 1024 ? [m[1]] : []
  }))
  return lines.filter((l) => {
    const m = /^STAT (\d+):(chunk_size|chunks_per_page|total_pages|used_chunks) /.exec(l)
    if (m !== null) return valueClass.has(m[1])
    return /^STAT items:\d+:number /.test(l)
  }).join('\n')
}

const toRaw = (args: string[]): Parameters<typeof serverSettings>[0] => {
  const raw: Parameters<typeof serverSettings>[0] = {}
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '-I') raw.maxItemSize = args[i + 1]
    else if (args[i] === '-m') raw.memoryLimit = args[i + 1]
    else if (args[i] === '-o') raw.extended = [...(raw.extended ?? []), args[i + 1]]
  }
  return raw
}

t.test('large items: replies and placement as memcached 1.6.18', { skip }, async (t) => {
  for (const s of scripts) {
    await t.test(s.name, async (t) => {
      const mc = await startMemcached(t, s.args ?? [])
      const mr = await startServer(t, { ...serverSettings(toRaw(s.args ?? [])), port: 0, listen: ['127.0.0.1'] })
      const [a, b] = await Promise.all([exchange(mc.port, s.req), exchange(mr.port, s.req)])
      const strip = (x: Buffer): string => x.toString('latin1').replace(/^STAT (time|uptime|pid|.*_nonce|rusage_\w+) .*\r\n/gm, '')
      t.equal(strip(b), strip(a), 'memring bytes equal memcached bytes')
      t.ok(a.length > 100_000, `the oracle answered (${a.length} bytes)`)
      if (s.placement === false) return
      const [pa, pb] = await Promise.all([placement(mc.port), placement(mr.port)])
      t.equal(pb, pa, 'the same value classes, pages and used chunks, the same LRU class per item')
      t.match(pa, /used_chunks [1-9]/, 'the oracle placed something')
    })
  }
})
