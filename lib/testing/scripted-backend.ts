// lib/testing/scripted-backend.ts
/**
 * A REAL TCP peer that misbehaves on cue, for failure tests of anything that talks
 * to a backend (the proxy, clients). Named behaviours, after mcrouter's SleepServer /
 * ConnectionErrorServer / CustomErrorServer and ioredis's MockServer:
 *
 *   reply(lines)   answer every request line with these lines (storage data blocks
 *                  are skipped); `version` is always answered, so probes work
 *   delay(ms)      like reply, each answer `ms` late
 *   hang()         accept, read, never answer
 *   closeAfter(n)  answer n requests, then close the connection
 *   refuse()       stop listening: connects are refused (same port, until reply())
 *   garbage()      answer with bytes that are no protocol at all
 *   hold(lines)    see requests (version too) but answer none until release()
 *
 * Behaviours apply to new requests at once, on every connection. Test-only code.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Teardown } from './zookeeper.js'

type Mode =
  | { kind: 'reply', lines: string[], delayMs: number }
  | { kind: 'hang' }
  | { kind: 'closeAfter', n: number, lines: string[] }
  | { kind: 'garbage' }
  | { kind: 'hold', lines: string[] }

export class ScriptedBackend {
  readonly port: number
  /** Request lines seen (data blocks excluded). */
  readonly seen: string[] = []
  connections = 0
  #server: Server | null
  #sockets = new Set<Socket>()
  #mode: Mode = { kind: 'reply', lines: ['END'], delayMs: 0 }
  /** One entry per held request (its connection), in arrival order. */
  #held: Socket[] = []

  constructor (server: Server, port: number) {
    this.#server = server
    this.port = port
    server.on('connection', (s) => this.#accept(s))
  }

  get address (): string { return `127.0.0.1:${this.port}` }

  reply (lines: string[]): this { this.#mode = { kind: 'reply', lines, delayMs: 0 }; return this.#listen() }
  delay (ms: number, lines: string[] = ['END']): this { this.#mode = { kind: 'reply', lines, delayMs: ms }; return this.#listen() }
  hang (): this { this.#mode = { kind: 'hang' }; return this }
  closeAfter (n: number, lines: string[] = ['END']): this { this.#mode = { kind: 'closeAfter', n, lines }; return this }
  garbage (): this { this.#mode = { kind: 'garbage' }; return this }
  /** Hold every reply (`lines`) until release(): requests are seen, nothing is answered. */
  hold (lines: string[] = ['END']): this { this.#mode = { kind: 'hold', lines }; return this }
  /** Send the held replies in order and answer like reply(lines) from now on. */
  release (): this {
    const mode = this.#mode
    if (mode.kind !== 'hold') return this
    this.#mode = { kind: 'reply', lines: mode.lines, delayMs: 0 }
    for (const s of this.#held.splice(0)) if (!s.destroyed) s.write(mode.lines.map((l) => l + '\r\n').join(''))
    return this
  }

  /** Close the listener and every connection: further connects get ECONNREFUSED. */
  refuse (): this {
    this.#server?.close()
    this.#server = null
    for (const s of this.#sockets) s.destroy()
    return this
  }

  #listen (): this {
    if (this.#server !== null) return this
    const srv = createServer()
    srv.on('connection', (s) => this.#accept(s))
    srv.listen(this.port, '127.0.0.1')
    this.#server = srv
    return this
  }

  #accept (s: Socket): void {
    this.connections++
    this.#sockets.add(s)
    s.on('close', () => this.#sockets.delete(s))
    s.on('error', () => {})
    let carry = ''
    let skip = 0
    let answered = 0
    s.on('data', (b: Buffer) => {
      let text = carry + b.toString('latin1')
      carry = ''
      for (;;) {
        if (skip > 0) {
          const take = Math.min(skip, text.length)
          text = text.slice(take)
          skip -= take
          if (skip > 0) return
        }
        const lf = text.indexOf('\n')
        if (lf < 0) { carry = text; return }
        const line = text.slice(0, lf).replace(/\r$/, '')
        text = text.slice(lf + 1)
        this.seen.push(line)
        const m = /^(set|add|replace|append|prepend|cas) \S+ \S+ \S+ (\d+)/.exec(line) ?? /^ms \S+ (\d+)/.exec(line)
        if (m !== null) skip = Number(m[m.length - 1]) + 2
        this.#answer(s, line, ++answered)
      }
    })
  }

  #answer (s: Socket, line: string, nth: number): void {
    const mode = this.#mode
    if (line === 'version' && mode.kind !== 'hang' && mode.kind !== 'garbage' && mode.kind !== 'hold') { s.write('VERSION scripted\r\n'); return }
    switch (mode.kind) {
      case 'hang': return
      case 'hold': this.#held.push(s); return
      case 'garbage': s.write('\x00\xff garbage \x01 VALUE x y z\r\n\x00'); return
      case 'closeAfter':
        if (nth > mode.n) { s.destroy(); return }
        s.write(mode.lines.map((l) => l + '\r\n').join(''))
        return
      case 'reply': {
        const out = mode.lines.map((l) => l + '\r\n').join('')
        if (mode.delayMs > 0) setTimeout(() => { if (!s.destroyed) s.write(out) }, mode.delayMs)
        else s.write(out)
      }
    }
  }

  close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    const srv = this.#server
    this.#server = null
    return srv === null ? Promise.resolve() : new Promise((resolve) => srv.close(() => resolve()))
  }
}

/** A scripted backend on a free loopback port (answers END until told otherwise). */
export async function startScriptedBackend (t: Teardown): Promise<ScriptedBackend> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  const b = new ScriptedBackend(server, typeof addr === 'object' && addr !== null ? addr.port : 0)
  t.teardown(() => b.close())
  return b
}
