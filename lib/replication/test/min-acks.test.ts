// --min-replicas-to-ack between real memring processes: a write is answered only once a
// replica has it (read the replica right after each reply), a frozen link turns held
// replies into the timeout error while the write stays on the master, no replica means the
// write is refused and not applied, held replies keep their connection's order and hold no
// other connection, every write command of text, meta and binary is gated, and a kill -9
// of the master loses no acknowledged write once the replica is promoted.
import t from 'tap'
import type { Test } from 'tap'
import { attachReplication, replicationOptions } from '../../app/replication-app.js'
import { silentLogger } from '../../log.js'
import { HOLD_FAILED, HOLD_RELEASED, HOLD_WAITING } from '../../server/output.js'
import { ACK_FAILED, ACK_RELEASED, ACK_WAITING } from '../min-acks.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { startRelay, type TcpRelay } from '../../testing/tcp-relay.js'
import { bin, compareDigests, digest, mixedLoad, stats } from '../../testing/replication.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'

/** --min-replicas-timeout in the tests that let it run out. */
const ACK_TIMEOUT_MS = 400
/** --repl-timeout where a link stays frozen or a replica stopped: far longer than any test step. */
const LONG_REPL_TIMEOUT_MS = 60_000
/** Deadline for a replica to come online (a full sync of a few items, process start under load). */
const ONLINE_MS = 30_000

const TIMEOUT_ERROR = /^SERVER_ERROR replication timeout: the write was applied on the master but not acknowledged by 1 replica within 400 ms/
const NO_REPLICAS = 'SERVER_ERROR not enough replicas: 1 required to acknowledge a write (--min-replicas-to-ack), fewer are online; the write was not applied'

async function repl (port: number): Promise<Record<string, string>> { return await stats(port, 'replication') }

async function online (master: ChildServer, n = 1): Promise<void> {
  await waitFor(async () => (await repl(master.port)).replicas_online === String(n), { timeoutMs: ONLINE_MS, what: `${n} replica(s) online` })
}

/** A master with --min-replicas-to-ack 1 and a replica reaching it through a relay. */
async function pair (t: Test, masterArgs: string[] = [], replicaArgs: string[] = []): Promise<{ master: ChildServer, relay: TcpRelay, replica: ChildServer }> {
  const master = await startMemringProcess(t, ['--min-replicas-to-ack', '1', ...masterArgs])
  const relay = await startRelay(t, master.port)
  const replica = await startMemringProcess(t, ['--replica-of', relay.address, ...replicaArgs])
  await online(master)
  return { master, relay, replica }
}

/** A frozen link that stays frozen: current connections and every redial. */
function freeze (relay: TcpRelay): void { relay.blockNew(true); relay.freeze() }

const u32s = (...v: number[]): Buffer => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeUInt32BE(x, 4 * i)); return b }
const counterExt = (delta: number, initial: number, exp: number): Buffer => {
  const b = Buffer.alloc(20); b.writeBigUInt64BE(BigInt(delta), 0); b.writeBigUInt64BE(BigInt(initial), 8); b.writeUInt32BE(exp, 16); return b
}

interface BinReply { opcode: number, status: number, opaque: number, body: string }
async function binReply (c: RawClient, timeoutMs = 5000): Promise<BinReply> {
  const h = await c.bytes(24, timeoutMs)
  const n = h.readUInt32BE(8)
  const body = n > 0 ? await c.bytes(n, timeoutMs) : Buffer.alloc(0)
  return { opcode: h[1], status: h.readUInt16BE(6), opaque: h.readUInt32BE(12), body: body.subarray(h[4] + h.readUInt16BE(2)).toString('latin1') }
}

/** Round trips on another connection: several event-loop turns of the server, no sleep. */
async function roundTrips (c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) { c.write('version\r\n'); await c.until('\r\n') }
}

t.test('the server\'s hold states and replication\'s are the same numbers', async (t) => {
  t.same([ACK_WAITING, ACK_RELEASED, ACK_FAILED], [HOLD_WAITING, HOLD_RELEASED, HOLD_FAILED])
})

t.test('the flags: defaults, values, and what is refused', async (t) => {
  const d = replicationOptions({})
  t.same([d.minReplicasToAck, d.minReplicasTimeoutMs], [0, 1000], 'default: asynchronous, 1000 ms')
  const o = replicationOptions({ minReplicasToAck: '2', minReplicasTimeout: '250' })
  t.same([o.minReplicasToAck, o.minReplicasTimeoutMs], [2, 250])
  for (const bad of ['-1', '1.5', 'x', '17', '']) t.throws(() => replicationOptions({ minReplicasToAck: bad }), /--min-replicas-to-ack/, `N '${bad}'`)
  for (const bad of ['0', '-5', '2.5', 'soon', '600001']) t.throws(() => replicationOptions({ minReplicasTimeout: bad }), /--min-replicas-timeout/, `timeout '${bad}'`)
})

t.test('N=1: every acknowledged write is on the replica when its reply arrives', async (t) => {
  const { master, replica } = await pair(t)
  const m = await rawClient(t, master.port)
  const r = await rawClient(t, replica.port)
  const WRITES = 300
  let misses = 0
  for (let i = 0; i < WRITES; i++) {
    const v = `v${i}-${Math.floor(Math.random() * 1e9)}`
    m.write(`set a${i % 50} 0 0 ${v.length}\r\n${v}\r\n`)
    t.equal(await m.until('\r\n'), 'STORED\r\n')
    // Straight after the reply: the replica must already serve this value.
    r.write(`mg a${i % 50} v\r\n`)
    const line = await r.until('\r\n')
    if (line === 'EN\r\n') { misses++; continue }
    const got = (await r.bytes(Number(/^VA (\d+)/.exec(line)?.[1] ?? 0) + 2)).toString('latin1').slice(0, -2)
    if (got !== v) misses++
  }
  t.equal(misses, 0, `${WRITES} acknowledged writes, each read from the replica right after its reply`)
  const s = await repl(master.port)
  t.equal(s.min_replicas_to_ack, '1')
  t.equal(s.writes_waited, String(WRITES), 'every write waited for its ack')
  t.equal(s.ack_timeouts, '0')
  t.equal(s.writes_refused_no_replicas, '0')
  t.equal(s.acked_seqno, s.seqno, 'the replica acked the last write')
  t.comment(`ack wait: p50 ${s.ack_wait_ms_p50} ms, p99 ${s.ack_wait_ms_p99} ms, max ${s.ack_wait_ms_max} ms (loopback, loaded machine)`)
})

t.test('N=1, link frozen: writes get the timeout error (applied on the master only); reads go on', async (t) => {
  const { master, relay, replica } = await pair(t,
    ['--min-replicas-timeout', String(ACK_TIMEOUT_MS), '--repl-timeout', String(LONG_REPL_TIMEOUT_MS)],
    ['--repl-timeout', String(LONG_REPL_TIMEOUT_MS)])
  const m = await rawClient(t, master.port)
  m.write('set before 0 0 2\r\nok\r\n')
  t.equal(await m.until('\r\n'), 'STORED\r\n', 'acknowledged while the link flows')
  freeze(relay)
  const started = performance.now()
  m.write('set x 0 0 1\r\nA\r\n')
  const line = await m.until('\r\n', ACK_TIMEOUT_MS * 10)
  const waited = performance.now() - started
  t.match(line, TIMEOUT_ERROR)
  t.ok(waited >= ACK_TIMEOUT_MS - 1, `the error came after the ${ACK_TIMEOUT_MS} ms timeout, not before (${waited.toFixed(0)} ms)`)
  t.comment(`timeout error after ${waited.toFixed(0)} ms (--min-replicas-timeout ${ACK_TIMEOUT_MS})`)
  // The same connection still serves reads, and the write is on the master.
  m.write('get x\r\n')
  t.equal(await m.until('END\r\n'), 'VALUE x 0 1\r\nA\r\nEND\r\n', 'the timed-out write is applied on the master')
  // Pipelined: a held write and a read behind it come back in order (error, then value).
  m.write('set x 0 0 1 noreply\r\nB\r\nget x\r\n')
  t.match(await m.until('\r\n', ACK_TIMEOUT_MS * 10), TIMEOUT_ERROR, 'noreply still gets the error, as memcached sends errors')
  t.equal(await m.until('END\r\n'), 'VALUE x 0 1\r\nB\r\nEND\r\n')
  const r = await rawClient(t, replica.port)
  r.write('get x\r\nget before\r\n')
  t.equal(await r.until('END\r\n'), 'END\r\n', 'the replica never got x')
  t.equal(await r.until('END\r\n'), 'VALUE before 0 2\r\nok\r\nEND\r\n')
  const s = await repl(master.port)
  t.equal(s.ack_timeouts, '2')
  t.equal(s.replicas_online, '1', 'the frozen replica is still in the stream (no refusal yet)')
  t.equal(s.writes_waiting, '0')
})

t.test('N=1, no replica: writes are refused and not applied, in text, meta and binary', async (t) => {
  const master = await startMemringProcess(t, ['--min-replicas-to-ack', '1'])
  const m = await rawClient(t, master.port)
  m.write('set a 0 0 1\r\nx\r\nset b 0 0 1 noreply\r\ny\r\nms c 1\r\nz\r\nms d 1 q\r\nz\r\nmg e N30 v\r\nincr f 1\r\nflush_all\r\nget a b c d e\r\nmn\r\n')
  const lines = await m.lines(7)
  t.same(lines, Array(7).fill(NO_REPLICAS), 'set, set noreply, ms, ms q, mg N, incr, flush_all: refused')
  t.equal(await m.until('MN\r\n'), 'END\r\nMN\r\n', 'nothing was applied')
  const b = await rawClient(t, master.port)
  b.write(Buffer.concat([bin(0x01, 'g', u32s(0, 0), Buffer.from('v'), 7), bin(0x11, 'h', u32s(0, 0), Buffer.from('v'), 8), bin(0x0a, '', undefined, undefined, 9)]))
  const r1 = await binReply(b)
  const r2 = await binReply(b)
  t.same([r1.status, r1.opaque, r2.status, r2.opaque], [0x0086, 7, 0x0086, 8], 'binary SET and SETQ: 0x0086 temporary failure')
  t.match(r1.body, /^not enough replicas/)
  t.equal((await binReply(b)).opcode, 0x0a)
  const s = await repl(master.port)
  t.equal(s.writes_refused_no_replicas, '9')
  t.equal(s.seqno, '0', 'no record logged')
  t.equal((await stats(master.port)).curr_items, '0')
  // Reads are served as usual.
  m.write('get a\r\nversion\r\n')
  t.equal(await m.until('END\r\n'), 'END\r\n')
})

t.test('held replies keep their connection\'s order and hold no other connection', async (t) => {
  const { master, replica } = await pair(t, ['--repl-timeout', String(LONG_REPL_TIMEOUT_MS), '--min-replicas-timeout', String(LONG_REPL_TIMEOUT_MS)])
  const a = await rawClient(t, master.port)
  const other = await rawClient(t, master.port)
  a.write('set k0 0 0 2\r\nv0\r\n')
  t.equal(await a.until('\r\n'), 'STORED\r\n')
  const pid = replica.pid as number
  process.kill(pid, 'SIGSTOP') // ChildServer.kill() would wait for an exit
  t.teardown(() => { if (replica.running) process.kill(pid, 'SIGCONT') })
  a.write('set k1 0 0 2\r\nv1\r\nget k0\r\nset k2 0 0 2\r\nv2\r\nget k1\r\nmn\r\n')
  // Other connections are served while A's replies are held: reads, and the key A wrote.
  for (let i = 0; i < 5; i++) {
    other.write('get k0\r\n')
    t.equal(await other.until('END\r\n'), 'VALUE k0 0 2\r\nv0\r\nEND\r\n')
  }
  await roundTrips(other, 20)
  t.equal(a.socket.bytesRead, 'STORED\r\n'.length, 'A got nothing more while its write waits for the stopped replica')
  t.equal((await repl(master.port)).writes_waiting, '2', 'two writes waiting')
  process.kill(pid, 'SIGCONT')
  t.equal(await a.until('MN\r\n', ONLINE_MS), 'STORED\r\nVALUE k0 0 2\r\nv0\r\nEND\r\nSTORED\r\nVALUE k1 0 2\r\nv1\r\nEND\r\nMN\r\n', 'every reply, in request order')
  const s = await repl(master.port)
  t.equal(s.ack_timeouts, '0')
  t.equal(s.writes_waited, '3')
})

t.test('every write command of text, meta and binary is gated; reads are not', async (t) => {
  const { master, relay } = await pair(t,
    ['--min-replicas-timeout', String(ACK_TIMEOUT_MS), '--repl-timeout', String(LONG_REPL_TIMEOUT_MS)],
    ['--repl-timeout', String(LONG_REPL_TIMEOUT_MS)])
  const m = await rawClient(t, master.port)
  m.write('set s 0 0 1\r\nx\r\nset n 0 0 1\r\n5\r\n')
  t.same(await m.lines(2), ['STORED', 'STORED'])
  freeze(relay)
  const text = [
    'set s 0 0 1\r\ny\r\n', 'add a1 0 0 1\r\ny\r\n', 'replace s 0 0 1\r\nz\r\n', 'append s 0 0 1\r\na\r\n',
    'prepend s 0 0 1\r\np\r\n', 'cas s 0 0 1 1\r\nc\r\n', 'incr n 1\r\n', 'decr n 1\r\n', 'touch s 100\r\n',
    'gat 100 s\r\n', 'gats 100 s\r\n', 'delete a1\r\n', 'flush_all 1000\r\n',
    'ms s 1\r\nm\r\n', 'ms q1 1 q\r\nm\r\n', 'md s q\r\n', 'ma n\r\n', 'mg s T30 v\r\n', 'mg new N30\r\n',
  ]
  for (const cmd of text) {
    m.write(cmd)
    t.match(await m.until('\r\n', ACK_TIMEOUT_MS * 10), TIMEOUT_ERROR, `${cmd.split(' ')[0]} ${cmd.split(' ')[1]}: held, then the timeout error`)
  }
  // Reads answer at once (no timeout error): get, gets, mg without T/N, mn.
  m.write('get s\r\ngets s\r\nmg s v\r\nmn\r\n')
  t.notMatch(await m.until('MN\r\n'), /SERVER_ERROR/, 'reads are not held')
  const b = await rawClient(t, master.port)
  const binary: Array<[string, Buffer]> = [
    ['SET', bin(0x01, 's', u32s(0, 0), Buffer.from('b'), 1)],
    ['ADD', bin(0x02, 'b1', u32s(0, 0), Buffer.from('b'), 2)],
    ['REPLACE', bin(0x03, 's', u32s(0, 0), Buffer.from('c'), 3)],
    ['APPEND', bin(0x0e, 's', undefined, Buffer.from('a'), 4)],
    ['PREPEND', bin(0x0f, 's', undefined, Buffer.from('p'), 5)],
    ['DELETE', bin(0x04, 'b1', undefined, undefined, 6)],
    ['INCREMENT', bin(0x05, 'n', counterExt(1, 0, 0), undefined, 7)],
    ['DECREMENT', bin(0x06, 'n', counterExt(1, 0, 0), undefined, 8)],
    ['TOUCH', bin(0x1c, 's', u32s(100), undefined, 9)],
    ['GAT', bin(0x1d, 's', u32s(100), undefined, 10)],
    ['FLUSH', bin(0x08, '', u32s(1000), undefined, 11)],
    ['SETQ', bin(0x11, 's', u32s(0, 0), Buffer.from('q'), 12)],
  ]
  for (const [name, req] of binary) {
    b.write(req)
    const r = await binReply(b, ACK_TIMEOUT_MS * 10)
    t.same([r.status, r.opaque], [0x0084, req.readUInt32BE(12)], `binary ${name}: held, then 0x0084 with its opaque`)
    t.match(r.body, /^replication timeout/)
  }
  b.write(bin(0x00, 's', undefined, undefined, 99))
  t.equal((await binReply(b)).status, 0, 'binary GET answers at once')
  const s = await repl(master.port)
  t.equal(s.ack_timeouts, String(text.length + binary.length))
})

t.test('N=1 under the mixed load of every command: nothing waits forever, the replica is equal', async (t) => {
  const { master, replica } = await pair(t)
  const keys = await mixedLoad(master.port, { seed: 71, ops: 3000 })
  const s = await repl(master.port)
  t.ok(Number(s.writes_waited) > 1000, `writes waited for acks (${s.writes_waited})`)
  t.equal(s.ack_timeouts, '0')
  t.equal(s.writes_waiting, '0')
  // Every write was acknowledged, so the replica holds all of them now (no catch-up wait).
  t.same(compareDigests(await digest(master.port, keys), await digest(replica.port, keys)), [], 'replica digest-equal')
  // Requests arriving one byte at a time: a held reply's bracket stays open across chunks.
  const c = await rawClient(t, master.port)
  const cb = await rawClient(t, master.port)
  const byteByByte = async (to: RawClient, req: Buffer): Promise<void> => {
    for (const byte of req) { to.write(Buffer.from([byte])); await new Promise((resolve) => setImmediate(resolve)) }
  }
  await byteByByte(c, Buffer.from('set split 0 0 5\r\nhello\r\nms msplit 2 T0\r\nhi\r\nget split\r\n'))
  t.equal(await c.until('END\r\n'), 'STORED\r\nHD\r\nVALUE split 0 5\r\nhello\r\nEND\r\n')
  await byteByByte(cb, bin(0x01, 'bsplit', u32s(0, 0), Buffer.from('bin'), 5))
  const r = await binReply(cb)
  t.same([r.status, r.opaque], [0, 5], 'binary SET sent byte by byte: stored')
  t.same(compareDigests(await digest(master.port, ['split', 'msplit', 'bsplit']), await digest(replica.port, ['split', 'msplit', 'bsplit'])), [], 'and on the replica')
})

t.test('kill -9 of the master after acknowledged writes: the promoted replica has every one', async (t) => {
  const master = await startMemringProcess(t, ['--min-replicas-to-ack', '1', '--min-replicas-timeout', '10000'])
  // The replica runs in this process, so the test can promote it (as promote.test.ts does).
  const server = await startServer(t)
  const replica = attachReplication(server, { replicaOf: null, backlogBytes: 16 * 1024 * 1024, timeoutMs: 5000 }, () => `127.0.0.1:${server.port}`, silentLogger())
  t.teardown(() => replica.close())
  replica.follow('127.0.0.1', master.port)
  await online(master)
  // Four connections write bursts of 100 pipelined sets of distinct keys, back to back; the
  // master is killed from inside the reply loop as soon as 2000 writes are acknowledged.
  const CONNS = 4
  const BURST = 100
  const KILL_AT = 2000
  const acked = new Map<string, string>()
  let sent = 0
  let kill: Promise<void> | null = null
  const clients = await Promise.all(Array.from({ length: CONNS }, async () => await rawClient(t, master.port)))
  const writers = clients.map(async (c, ci) => {
    for (let b = 0; kill === null; b++) {
      const burst: Array<[string, string]> = []
      for (let i = 0; i < BURST; i++) burst.push([`w${ci}_${b}_${i}`, `c${ci}-${b}-${i}-${Math.random().toString(36).slice(2)}`])
      c.write(burst.map(([k, v]) => `set ${k} 0 0 ${v.length}\r\n${v}\r\n`).join(''))
      sent += BURST
      for (const [k, v] of burst) {
        let line: string
        try { line = await c.until('\r\n', 20_000) } catch { return } // the master died
        if (line !== 'STORED\r\n') { t.fail(`unexpected reply ${JSON.stringify(line)}`); return }
        acked.set(k, v)
        if (acked.size >= KILL_AT && kill === null) kill = master.kill('SIGKILL')
      }
    }
  })
  await Promise.all(writers)
  await kill
  const ackedCount = acked.size
  t.ok(ackedCount >= KILL_AT, `${ackedCount} writes acknowledged before the kill`)
  replica.lead()
  t.equal(replica.role, 'master')
  const got = await digest(server.port, acked.keys())
  const missing = [...acked].filter(([k, v]) => got.get(k)?.value !== v)
  t.equal(missing.length, 0, `acknowledged writes missing on the promoted replica: ${missing.length} (${missing.slice(0, 3).map(([k]) => k).join(' ')})`)
  t.comment(`replica held ${got.size} of the ${ackedCount} acknowledged keys; ${sent - ackedCount} writes were in flight at the kill`)
})
