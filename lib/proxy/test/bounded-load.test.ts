/**
 * --bounded-load: a shard that falls behind (a backend holding every reply, like a hot or
 * dying server) keeps exactly BOUNDED_MIN_LOAD requests of the keys that hash to it, and
 * the rest go to the next shard clockwise and are served; without the flag they all queue
 * on it. With nothing in flight, placement is plain ketama, key for key.
 */
import t from 'tap'
import { createProxy, staticRing } from '../index.js'
import { BOUNDED_MIN_LOAD } from '../router.js'
import { startServer } from '../../testing/servers.js'
import { startScriptedBackend } from '../../testing/scripted-backend.js'
import { rawClient, exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

t.test('bounded loads cap a shard that falls behind, and change nothing when idle', async (t) => {
  const real = await Promise.all([0, 1, 2].map(async () => await startServer(t)))
  const held = await startScriptedBackend(t)
  const list = [...real.map((s) => ({ host: '127.0.0.1', port: s.port, weight: 1 })), { host: '127.0.0.1', port: held.port, weight: 1 }]
  const ring = staticRing(list)!
  const heldKeys: string[] = []
  for (let i = 0; heldKeys.length < 20; i++) if (ring.serverOf(`hot:${i}`) === 3) heldKeys.push(`hot:${i}`)

  for (const bounded of [1.25, 0]) {
    const name = bounded === 0 ? 'without --bounded-load' : `--bounded-load ${bounded}`
    held.hold(['STORED'])
    held.seen.length = 0
    const proxy = createProxy({ port: 0, topology: { kind: 'static', servers: list }, boundedLoad: bounded, backend: { timeoutMs: 60_000 } })
    await proxy.start()
    t.teardown(() => proxy.close())
    // one connection per key: each set stays in flight on its own while the backend holds
    const conns = await Promise.all(heldKeys.map(async () => await rawClient(t, proxy.port)))
    for (let i = 0; i < heldKeys.length; i++) {
      conns[i]!.write(`set ${heldKeys[i]} 0 0 1\r\nv\r\n`)
      // the proxy has placed this request before the next one is sent (the held one is seen, or a real server answered)
      await waitFor(() => held.seen.filter((l) => l.startsWith('set ')).length + conns.slice(0, i + 1).filter((c) => c.buffered().length > 0).length >= i + 1,
        { timeoutMs: 10_000, what: `set ${i} placed` })
    }
    const onHeld = held.seen.filter((l) => l.startsWith('set ')).length
    const stats = (await exchange(proxy.port, 'stats proxy\r\n')).toString()
    const moves = Number(/STAT proxy_bounded_moves (\d+)/.exec(stats)?.[1])
    if (bounded === 0) {
      t.equal(onHeld, heldKeys.length, `${name}: all ${heldKeys.length} sets queue on the shard that holds them`)
      t.equal(moves, 0)
      t.match(stats, /STAT bounded_load off/)
    } else {
      t.equal(onHeld, BOUNDED_MIN_LOAD, `${name}: the held shard gets ${BOUNDED_MIN_LOAD} sets, no more`)
      t.equal(moves, heldKeys.length - BOUNDED_MIN_LOAD, `${name}: the other ${heldKeys.length - BOUNDED_MIN_LOAD} were placed clockwise (proxy_bounded_moves)`)
      const served = conns.filter((c) => c.buffered().toString() === 'STORED\r\n').length
      t.equal(served, heldKeys.length - BOUNDED_MIN_LOAD, `${name}: and were STORED by the real servers`)
      t.match(stats, /STAT bounded_load 1.25/)
    }
    held.release()
    for (const c of conns) c.end()
    await proxy.close()
  }

  // idle: sequential sets land on the ketama owner, key for key
  held.hold(['STORED'])
  held.release()
  const proxy = createProxy({ port: 0, topology: { kind: 'static', servers: list.slice(0, 3) }, boundedLoad: 1.1 })
  await proxy.start()
  t.teardown(() => proxy.close())
  const ring3 = staticRing(list.slice(0, 3))!
  const c = await rawClient(t, proxy.port)
  let wrong = 0
  for (let i = 0; i < 300; i++) {
    const k = `idle:${i}`
    c.write(`set ${k} 0 0 1\r\n1\r\n`)
    await c.lines(1)
  }
  for (let s = 0; s < 3; s++) {
    const got = (await exchange(real[s]!.port, `get ${Array.from({ length: 300 }, (_, i) => `idle:${i}`).join(' ')}\r\n`)).toString()
    for (const m of got.matchAll(/^VALUE (\S+) /gm)) if (ring3.serverOf(m[1]!) !== s) wrong++
  }
  t.equal(wrong, 0, 'with nothing in flight, every key is where ketama puts it')
  const stats = (await exchange(proxy.port, 'stats proxy\r\n')).toString()
  t.match(stats, /STAT proxy_bounded_moves 0\r\n/)
})
