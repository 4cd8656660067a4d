// A replica's full sync lists the master's items hottest first (issue 14, warm-up of cold
// nodes): after a hot set spread over the whole key space was read on the master, a
// replica whose link is frozen partway through its full sync already holds every hot
// item and only part of the cold ones; the items keep their TTLs (mg t on both sides).
import t from 'tap'
import { startMemringProcess } from '../../testing/memring-process.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { stats } from '../../testing/replication.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

const TOTAL = 200_000
/** Every HOT_EVERY-th key is hot: the hot set is spread over every slab page. */
const HOT_EVERY = 200

/** `mg key t` for each key, pipelined: the remaining TTL of each (-1: none), or null on a miss. */
async function ttls (c: RawClient, keys: string[]): Promise<(number | null)[]> {
  c.write(keys.map((k) => `mg ${k} t\r\n`).join('') + 'mn\r\n')
  const lines = (await c.until('MN\r\n', 30_000)).split('\r\n')
  return keys.map((_, i) => { const m = /^HD t(-?\d+)$/.exec(lines[i]!); return m === null ? null : Number(m[1]) })
}

t.test('a full sync sends the most recently used items first, with their TTLs', async (t) => {
  const master = await startMemringProcess(t, ['-m', '256', '--repl-timeout', '1000'])
  const c = await rawClient(t, master.port)
  const value = 'x'.repeat(200)
  for (let i = 0; i < TOTAL; i += 5000) {
    let s = ''
    // Hot keys carry a 900 s TTL, cold ones none.
    for (let j = i; j < i + 5000; j++) s += `set k${j} 0 ${j % HOT_EVERY === 0 ? 900 : 0} ${value.length} noreply\r\n${value}\r\n`
    c.write(s + 'mn\r\n')
    await c.until('MN\r\n', 30_000)
  }
  const hot = Array.from({ length: TOTAL / HOT_EVERY }, (_, i) => `k${i * HOT_EVERY}`)
  const cold = Array.from({ length: TOTAL / HOT_EVERY }, (_, i) => `k${i * HOT_EVERY + HOT_EVERY / 2}`)
  // The access clock ticks in seconds: read the hot set (twice: the second read marks an
  // item active in the segmented LRU and stamps its access time) once the sets are 2 s old.
  const setAt = Number((await stats(master.port)).time)
  await waitFor(async () => Number((await stats(master.port)).time) >= setAt + 2, { timeoutMs: 10_000, what: 'the clock to move on' })
  for (let n = 0; n < 2; n++) {
    c.write(hot.map((k) => `get ${k}\r\n`).join('') + 'mn\r\n')
    await c.until('MN\r\n', 30_000)
  }

  const relay = await startRelay(t, master.port)
  const replica = await startMemringProcess(t, ['-m', '256', '--replica-of', relay.address, '--repl-timeout', '1000'])
  await waitFor(async () => Number((await stats(replica.port)).curr_items) > hot.length, { timeoutMs: 30_000, intervalMs: 5, what: 'the listing under way' })
  relay.blockNew(true)
  relay.freeze()
  const r = await rawClient(t, replica.port)
  const held = Number((await stats(replica.port)).curr_items)
  t.ok(held < TOTAL / 2, `frozen partway: the replica holds ${held} of ${TOTAL}`)
  const hotOnReplica = await ttls(r, hot)
  const coldOnReplica = await ttls(r, cold)
  const hotHeld = hotOnReplica.filter((x) => x !== null).length
  const coldHeld = coldOnReplica.filter((x) => x !== null).length
  t.equal(hotHeld, hot.length, `every hot item arrived first (${hotHeld} of ${hot.length})`)
  t.ok(coldHeld < cold.length / 2, `most cold items had not (${coldHeld} of ${cold.length} held)`)

  // TTLs travel as absolute times: the replica's remaining TTL is the master's, within the 1 s tick.
  const hotOnMaster = await ttls(c, hot)
  const off = hot.map((k, i) => `${k}: master ${hotOnMaster[i]}, replica ${hotOnReplica[i]}`)
    .filter((_, i) => hotOnReplica[i] === null || Math.abs(hotOnReplica[i]! - hotOnMaster[i]!) > 1 || !(hotOnMaster[i]! > 600))
  t.same(off, [], 'every hot item has the master\'s remaining TTL on the replica (within 1 s)')
  t.ok(coldOnReplica.every((x) => x === null || x === -1), 'cold items held never expire, as on the master')
})
