/**
 * Connection against a real memcached (pipelining, ordering, large values) and against
 * scripted peers that hang, reset, answer garbage, or drop the first connections.
 */
import t from 'tap'
import {
  Connection, ConnState, RetrievalCommand, StoreCommand, VersionCommand, YesNoCommand, ClientError, ClientErrorCode,
  exponentialBackoff, type Command, type Callback, type Item, type StoreStatus,
} from '../index.js'
import { encodeRetrieval, encodeStorage, encodeVersion, encodeDelete } from '../../../protocol/text/request-encoder.js'
import { startMemcached, haveMemcached, freePort } from '../../testing/memcached.js'
import { waitFor } from '../../testing/wait-for.js'
import { startPeer, type Peer } from './scripted-peer.js'

const skipNoMc = haveMemcached() ? false : 'memcached is not installed (scripts/setup.sh)'

async function call<T> (c: Connection, make: (cb: Callback<T>) => Command<T>): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    c.send(make((err, r) => err === null ? resolve(r as T) : reject(err)))
  })
}
const set = async (c: Connection, k: string, v: string | Buffer): Promise<StoreStatus> =>
  await call<StoreStatus>(c, (cb) => new StoreCommand(encodeStorage('set', Buffer.from(k), 0, 0, Buffer.from(v)), cb))
const get = async (c: Connection, ...keys: string[]): Promise<Array<string | null>> => {
  const kb = keys.map((k) => Buffer.from(k))
  const items = await call<Array<Item | null>>(c, (cb) => new RetrievalCommand(encodeRetrieval('get', kb), kb, cb))
  return items.map((i) => i === null ? null : i.value.toString('latin1'))
}
const version = async (c: Connection): Promise<string> => await call<string>(c, (cb) => new VersionCommand(encodeVersion(), cb))

function open (t: { teardown (fn: () => unknown): void }, port: number, extra: Partial<ConstructorParameters<typeof Connection>[0]> = {}): Connection {
  const c = new Connection({ host: '127.0.0.1', port, ...extra })
  t.teardown(() => c.close())
  return c
}

t.test('2000 pipelined requests on one connection are answered in order', { skip: skipNoMc }, async (t) => {
  const mc = await startMemcached(t)
  const c = open(t, mc.port)
  const ops: Array<Promise<unknown>> = []
  for (let i = 0; i < 1000; i++) ops.push(set(c, `k${i}`, `v${i}`))
  for (let i = 0; i < 1000; i++) ops.push(get(c, `k${i}`, `missing${i}`, `k${(i + 1) % 1000}`))
  const res = await Promise.all(ops)
  t.same(res.slice(0, 1000), Array(1000).fill('STORED'))
  let bad = 0
  for (let i = 0; i < 1000; i++) {
    if (JSON.stringify(res[1000 + i]) !== JSON.stringify([`v${i}`, null, i === 999 ? 'v0' : `v${i + 1}`])) bad++
  }
  t.equal(bad, 0, 'every multi-get got its own values')
  t.equal(c.connects, 1, 'one connection, no reconnects')
})

t.test('values of 1 byte to 1 MiB (split over many chunks) come back intact', { skip: skipNoMc }, async (t) => {
  const mc = await startMemcached(t, ['-I', '2m'])
  const c = open(t, mc.port)
  for (const n of [0, 1, 1000, 65536, 1024 * 1024]) {
    const v = Buffer.alloc(n)
    for (let i = 0; i < n; i++) v[i] = (i * 7 + 13) & 255
    t.equal(await set(c, `big${n}`, v), 'STORED')
    const kb = [Buffer.from(`big${n}`)]
    const [item] = await call<Array<Item | null>>(c, (cb) => new RetrievalCommand(encodeRetrieval('gets', kb), kb, cb))
    t.ok(item?.value.equals(v), `${n} bytes`)
    t.type(item?.cas, 'bigint', 'gets returns a CAS unique')
  }
})

t.test('a server that never answers: TIMEOUT for the oldest, CONN_CLOSED for the rest, then a new connection', async (t) => {
  const peer = await startPeer(t, { kind: 'hang' })
  const c = open(t, peer.port, { requestTimeoutMs: 150 })
  const started = Date.now()
  const results = await Promise.allSettled([version(c), version(c), version(c)])
  const took = Date.now() - started
  const codes = results.map((r) => r.status === 'rejected' ? (r.reason as ClientError).code : 'ok')
  t.same(codes, [ClientErrorCode.Timeout, ClientErrorCode.ConnClosed, ClientErrorCode.ConnClosed])
  // A lower bound only (timers do not fire early): it waited for the timeout. An upper
  // bound would measure the machine's load; a hang would meet tap's timeout.
  t.ok(took >= 140, `failed after the request timeout, not before (${took} ms)`)
  t.equal((results[0] as PromiseRejectedResult).reason.retriable, false, 'a sent request that timed out is not retriable')
  const again = await Promise.allSettled([version(c)])
  t.equal((again[0] as PromiseRejectedResult).reason.code, ClientErrorCode.Timeout)
  t.equal(peer.accepted, 2, 'the next request opened a new connection')
})

t.test('a server that resets: CONN_CLOSED naming the server, then the connection idles', async (t) => {
  const peer = await startPeer(t, { kind: 'reset' })
  const c = open(t, peer.port)
  const r = await Promise.allSettled([version(c)])
  const err = (r[0] as PromiseRejectedResult).reason as ClientError
  t.equal(err.code, ClientErrorCode.ConnClosed)
  t.equal(err.server, `127.0.0.1:${peer.port}`)
  t.equal(c.state, ConnState.Idle, 'nothing waiting: the connection idles until the next request')
})

t.test('garbage from the server: PROTOCOL error and the connection is closed', async (t) => {
  const peer = await startPeer(t, { kind: 'reply', bytes: 'HELLO THERE\r\n' })
  const c = open(t, peer.port)
  const r = await Promise.allSettled([version(c), version(c)])
  t.equal((r[0] as PromiseRejectedResult).reason.code, ClientErrorCode.Protocol)
  t.match((r[0] as PromiseRejectedResult).reason.message, /unexpected reply "HELLO THERE"/)
  t.equal((r[1] as PromiseRejectedResult).reason.code, ClientErrorCode.ConnClosed)
  const bad = await startPeer(t, { kind: 'reply', bytes: 'VALUE k 0 3\r\nabcdef\r\n' })
  const c2 = open(t, bad.port)
  const kb = [Buffer.from('k')]
  const r2 = await Promise.allSettled([call<Array<Item | null>>(c2, (cb) => new RetrievalCommand(encodeRetrieval('get', kb), kb, cb))])
  t.match((r2[0] as PromiseRejectedResult).reason.message, /value not followed by CRLF/)
})

t.test('error replies fail only their own request; the connection stays', async (t) => {
  const peer = await startPeer(t, { kind: 'reply', bytes: 'SERVER_ERROR out of memory storing object\r\n' })
  const c = open(t, peer.port)
  for (let i = 0; i < 3; i++) {
    const r = await Promise.allSettled([version(c)])
    t.equal((r[0] as PromiseRejectedResult).reason.code, ClientErrorCode.ServerError)
  }
  t.equal(peer.accepted, 1, 'same connection throughout')
  const e = await startPeer(t, { kind: 'reply', bytes: 'ERROR\r\n' })
  const r = await Promise.allSettled([version(open(t, e.port))])
  t.equal((r[0] as PromiseRejectedResult).reason.code, ClientErrorCode.ErrorReply)
  const ce = await startPeer(t, { kind: 'reply', bytes: 'CLIENT_ERROR bad command line format\r\n' })
  const r3 = await Promise.allSettled([version(open(t, ce.port))])
  t.equal((r3[0] as PromiseRejectedResult).reason.code, ClientErrorCode.ClientErrorReply)
})

t.test('nobody listening: the retry strategy is asked per attempt, then CONNECT', async (t) => {
  const port = await freePort()
  const attempts: number[] = []
  const base = exponentialBackoff({ baseMs: 5, maxAttempts: 3, jitter: 0 })
  const c = open(t, port, { retryStrategy: (n) => { attempts.push(n); return base(n) }, requestTimeoutMs: 5000 })
  const r = await Promise.allSettled([version(c), version(c)])
  t.same(attempts, [1, 2, 3, 4], 'asked for attempts 1..4; the 4th said give up')
  for (const x of r) {
    const err = (x as PromiseRejectedResult).reason as ClientError
    t.equal(err.code, ClientErrorCode.Connect)
    t.equal(err.retriable, true, 'never sent, so retriable')
    t.match(err.message, /ECONNREFUSED/)
  }
})

t.test('requests queued while nothing listens are sent, once, when the server comes up', { skip: skipNoMc }, async (t) => {
  const mc = await startMemcached(t)
  const port = await freePort()
  const attempts: number[] = []
  const peers: Peer[] = []
  const c = open(t, port, {
    requestTimeoutMs: 5000,
    retryStrategy: (n) => {
      attempts.push(n)
      // the server appears after the second refused attempt
      if (n === 2) void startPeer(t, { kind: 'flaky-then-relay', n: 0, port: mc.port }, port).then((p) => { peers.push(p) })
      return n > 50 ? null : 20
    },
  })
  const res = await Promise.all([set(c, 'a', '1'), set(c, 'b', '2'), get(c, 'a', 'b')])
  t.same(res, ['STORED', 'STORED', ['1', '2']])
  t.ok(attempts.length >= 2, `reconnected after ${attempts.length} refused attempts`)
  t.equal(peers[0]?.accepted, 1, 'one connection carried all three requests')
  t.equal(c.connects, 1)
})

t.test('a server that accepts then drops the connection: requests sent on it fail CONN_CLOSED (they may have run)', async (t) => {
  const peer = await startPeer(t, { kind: 'flaky-then-relay', n: 10, port: 1 })
  const c = open(t, peer.port)
  const r = await Promise.allSettled([version(c), version(c)])
  t.same(r.map((x) => (x as PromiseRejectedResult).reason.code), [ClientErrorCode.ConnClosed, ClientErrorCode.ConnClosed])
  t.equal((r[0] as PromiseRejectedResult).reason.retriable, false)
})

t.test('unsent requests time out as retriable when no connection comes', async (t) => {
  const port = await freePort()
  const c = open(t, port, { requestTimeoutMs: 100, retryStrategy: () => 50 })
  const r = await Promise.allSettled([version(c)])
  const err = (r[0] as PromiseRejectedResult).reason as ClientError
  t.equal(err.code, ClientErrorCode.Timeout)
  t.equal(err.retriable, true)
})

t.test('close() fails what is pending with CLOSED; queue limit gives QUEUE_FULL', async (t) => {
  const peer = await startPeer(t, { kind: 'hang' })
  const c = open(t, peer.port, { maxQueued: 2, requestTimeoutMs: 5000 })
  const p = Promise.allSettled([version(c), version(c), version(c)])
  await waitFor(() => peer.received.length > 0, { what: 'requests sent' })
  c.close()
  const r = await p
  t.same(r.map((x) => (x as PromiseRejectedResult).reason.code), [ClientErrorCode.Closed, ClientErrorCode.Closed, ClientErrorCode.QueueFull])
  const after = await Promise.allSettled([version(c)])
  t.equal((after[0] as PromiseRejectedResult).reason.code, ClientErrorCode.Closed)
})

t.test('delete answers DELETED / NOT_FOUND as true / false', { skip: skipNoMc }, async (t) => {
  const mc = await startMemcached(t)
  const c = open(t, mc.port)
  await set(c, 'x', '1')
  const del = async (): Promise<boolean> => await call<boolean>(c, (cb) => new YesNoCommand(encodeDelete(Buffer.from('x')), 'DELETED', 'NOT_FOUND', cb))
  t.equal(await del(), true)
  t.equal(await del(), false)
})
