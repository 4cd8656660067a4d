// compat-tests/chaos/client.ts
/**
 * One chaos client, a separate Node process forked by the checker (run.ts). Two modes:
 *
 *   proxy   writes and reads through memring-proxy: each turn sets the next of its own
 *           keys (round robin) to a fresh value `<id>:<seq>`, then gets one of its keys
 *           already written (seeded random). One request in flight, paced to --rate
 *           operations per second.
 *   direct  writes only, straight to one host (the master before a fault), bypassing the
 *           proxy: catches writes a fenced master still acknowledges.
 *
 * Every operation is recorded: kind (w/r), key, value (sent, or read back), invocation
 * and completion time (performance.timeOrigin + now(): one clock for every process on the
 * machine), and the result: ok, miss, `err <text>` (SERVER_ERROR..., a refused or reset
 * connection), or timeout. A request past --timeout-ms closes the connection (a FIFO
 * that lost a reply cannot be trusted) and the next one reconnects.
 * Keys have a single writer (this process), values carry a per-writer sequence number,
 * so the checker can order any two values of a key.
 *
 * Stops on the IPC message 'stop' (or SIGTERM): finishes the request in flight, writes
 * the log as NDJSON ([kind, key, value|null, invokedAt, completedAt, result]) to --out,
 * and exits 0.
 */
import fs from 'node:fs'
import net from 'node:net'
import { rng } from '../../lib/testing/seeds.js'

export type OpRecord = [kind: 'w' | 'r', key: string, value: string | null, invokedAt: number, completedAt: number, result: string]

interface Args { mode: 'proxy' | 'direct', id: string, port: number, keys: string[], rate: number, timeoutMs: number, out: string, seqStart: number, seed: number }

function parse (argv: string[]): Args {
  const a: Record<string, string> = {}
  for (let i = 0; i < argv.length; i += 2) a[argv[i]!.replace(/^--/, '')] = argv[i + 1] ?? ''
  return {
    mode: a.mode === 'direct' ? 'direct' : 'proxy',
    id: a.id ?? 'c0',
    port: Number(a.port),
    keys: (a.keys ?? '').split(',').filter((k) => k !== ''),
    rate: Number(a.rate ?? 200),
    timeoutMs: Number(a['timeout-ms'] ?? 2000),
    out: a.out ?? '',
    seqStart: Number(a['seq-start'] ?? 1),
    seed: Number(a.seed ?? 1),
  }
}

const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Parses one reply from the front of `buf`: [reply, bytes used] or null if incomplete. */
type ReplyParser = (buf: Buffer) => [string, number] | null

/** set: one line. */
const lineReply: ReplyParser = (buf) => {
  const i = buf.indexOf('\r\n')
  return i === -1 ? null : [buf.toString('latin1', 0, i), i + 2]
}

/** get: `END`, or `VALUE k f n` + data + `END`, or an error line. Reply: 'miss', 'value <data>' or the line. */
const getReply: ReplyParser = (buf) => {
  const i = buf.indexOf('\r\n')
  if (i === -1) return null
  const line = buf.toString('latin1', 0, i)
  if (line === 'END') return ['miss', i + 2]
  const m = /^VALUE \S+ \d+ (\d+)/.exec(line)
  if (m === null) return [line, i + 2]
  const n = Number(m[1])
  const endAt = i + 2 + n + 2 + 5
  if (buf.length < endAt) return null
  return ['value ' + buf.toString('latin1', i + 2, i + 2 + n), endAt]
}

/** One connection, one request in flight. */
class Conn {
  #sock: net.Socket | null = null
  #buf: Buffer = Buffer.alloc(0)
  #wake: (() => void) | null = null
  #closed = true

  constructor (private readonly port: number) {}

  async #connect (): Promise<void> {
    const s = net.connect(this.port, '127.0.0.1')
    s.setNoDelay(true)
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve)
      s.once('error', reject)
    })
    this.#sock = s
    this.#closed = false
    this.#buf = Buffer.alloc(0)
    // Events of a socket we already dropped (after a timeout) must not touch its successor.
    s.on('data', (d: Buffer) => { if (this.#sock !== s) return; this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]); this.#wake?.() })
    s.on('close', () => { if (this.#sock !== s) return; this.#closed = true; this.#wake?.() })
    s.on('error', () => {})
  }

  drop (): void { this.#sock?.destroy(); this.#sock = null; this.#closed = true }

  /** Sends `req`, resolves with the parsed reply, 'timeout', or 'err <why>'. */
  async request (req: string, parse: ReplyParser, timeoutMs: number): Promise<string> {
    if (this.#sock === null || this.#closed) {
      try { await this.#connect() } catch (err) { this.drop(); return `err connect ${(err as NodeJS.ErrnoException).code ?? String(err)}` }
    }
    this.#sock!.write(req)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const got = parse(this.#buf)
      if (got !== null) { this.#buf = this.#buf.subarray(got[1]); return got[0] }
      if (this.#closed) { this.drop(); return 'err connection closed' }
      const left = deadline - Date.now()
      if (left <= 0) { this.drop(); return 'timeout' }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#wake = () => { clearTimeout(t); this.#wake = null; resolve() }
      })
    }
  }
}

async function main (): Promise<void> {
  const a = parse(process.argv.slice(2))
  if (a.keys.length === 0 || !Number.isInteger(a.port) || a.out === '') throw new Error('client: --port, --keys and --out are required')
  const ops: OpRecord[] = []
  let stopping = false
  process.on('message', (m) => { if (m === 'stop') stopping = true })
  process.on('SIGTERM', () => { stopping = true })
  // The checker died without stopping us: stop (the log is of no use to anyone) rather than run on.
  process.on('disconnect', () => process.exit(1))
  const conn = new Conn(a.port)
  const r = rng(a.seed)
  // The checker wrote every key once before clients start (placement probe): all are readable.
  const written: string[] = a.mode === 'proxy' ? [...a.keys] : []
  let seq = a.seqStart
  let next = 0
  const interval = 1000 / Math.max(1, a.rate)
  const perTurn = a.mode === 'proxy' ? 2 : 1
  let turnAt = now()
  process.send?.('ready')
  while (!stopping) {
    const key = a.keys[next++ % a.keys.length]!
    const value = `${a.id}:${seq++}`
    let t0 = now()
    let res = await conn.request(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`, lineReply, a.timeoutMs)
    ops.push(['w', key, value, t0, now(), res === 'STORED' ? 'ok' : res.startsWith('err ') || res === 'timeout' ? res : `err ${res}`])
    if (res === 'STORED' && !written.includes(key)) written.push(key)
    if (a.mode === 'proxy' && written.length > 0) {
      const rk = written[Math.floor(r() * written.length)]!
      t0 = now()
      res = await conn.request(`get ${rk}\r\n`, getReply, a.timeoutMs)
      if (res.startsWith('value ')) ops.push(['r', rk, res.slice(6), t0, now(), 'ok'])
      else ops.push(['r', rk, null, t0, now(), res === 'miss' || res === 'timeout' || res.startsWith('err ') ? res : `err ${res}`])
    }
    turnAt += interval * perTurn
    const wait = turnAt - now()
    if (wait > 0) await sleep(wait)
    else if (wait < -1000) turnAt = now() // far behind (a stall): do not burst to catch up
  }
  conn.drop()
  fs.writeFileSync(a.out, ops.map((o) => JSON.stringify(o)).join('\n') + (ops.length > 0 ? '\n' : ''))
  process.exit(0)
}

main().catch((err) => {
  process.stderr.write(`chaos client: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
