/**
 * Test-only helpers (not a test file) that start REAL processes for the twemproxy
 * placement test: memcached instances and a nutcracker (twemproxy) in front of them,
 * on loopback. Every process is killed by its own pid at teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect, type Socket } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface Tap { teardown (fn: () => unknown): void }

export async function freePort (host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : -1))
    })
  })
}

/** Whether host:port can be bound right now. */
export async function canBind (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, host, () => srv.close(() => resolve(true)))
  })
}

export async function waitFor (what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export async function canConnect (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect(port, host)
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** memcached takes ~1 s to exit on SIGTERM (it joins its threads); it keeps nothing we need, so SIGKILL. */
function killAtTeardown (t: Tap, child: ChildProcess, signal: NodeJS.Signals): void {
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    await gone
  })
}

export interface Proc { host: string, port: number, child: ChildProcess }

/** memcached on host:port (a free port if 0), ready to serve. */
export async function startMemcached (t: Tap, host = '127.0.0.1', port = 0): Promise<Proc> {
  for (let attempt = 0; ; attempt++) {
    const p = port === 0 ? await freePort(host) : port
    const args = ['-l', host, '-p', String(p), '-U', '0', '-m', '8', '-t', '1', '-c', '64']
    if (process.getuid?.() === 0) args.unshift('-u', 'root')
    const child = spawn('memcached', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    killAtTeardown(t, child, 'SIGKILL')
    let exited = false
    child.once('exit', () => { exited = true })
    try {
      await waitFor(`memcached on ${host}:${p}`, async () => exited || await canConnect(host, p))
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    if (!exited) return { host, port: p, child }
    if (port !== 0 || attempt > 3) throw new Error(`memcached could not listen on ${host}:${p}`)
  }
}

/** nutcracker with this YAML config; `ports` are the pool listen ports to wait for. */
/**
 * The backends of the twemproxy placement tests: 12 memcached on 127.0.0.1 and one on port
 * 11211 of another loopback address (twemproxy names a server on 11211 without its port).
 * Empty host11211 when no loopback address had 11211 free (the caller asserts it).
 */
export async function startPlacementBackends (t: Tap): Promise<{ backends: Proc[], host11211: string }> {
  const backends: Proc[] = []
  for (let i = 0; i < 12; i++) backends.push(await startMemcached(t))
  let host11211 = ''
  for (let i = 0; i < 50 && host11211 === ''; i++) {
    const h = `127.0.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`
    if (await canBind(h, 11211)) host11211 = h
  }
  if (host11211 !== '') backends.push(await startMemcached(t, host11211, 11211))
  return { backends, host11211 }
}

/** A twemproxy pool as the placement tests describe it: backend index, weight, name. */
export interface TestPool { name: string, hash?: string, hashTag?: string, extra?: string[], servers: Array<[number, number, string?]> }

/** nutcracker.yml for `pools`, pool i listening on 127.0.0.1:listen[i], ketama, with `common` lines in every pool. */
export function poolYaml (pools: readonly TestPool[], listen: readonly number[], backends: readonly Proc[], common: readonly string[] = []): string {
  return pools.map((p, i) => [
    `${p.name}:`,
    `  listen: 127.0.0.1:${listen[i]}`,
    ...(p.hash !== undefined ? [`  hash: ${p.hash}`] : []),
    ...(p.hashTag !== undefined ? [`  hash_tag: "${p.hashTag}"`] : []),
    '  distribution: ketama',
    ...[...common, ...(p.extra ?? [])].map((l) => `  ${l}`),
    '  servers:',
    ...p.servers.map(([b, w, name]) => `   - ${backends[b]!.host}:${backends[b]!.port}:${w}${name !== undefined ? ' ' + name : ''}`),
  ].join('\n')).join('\n') + '\n'
}

export async function startNutcracker (t: Tap, yaml: string, ports: number[]): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'memring-nc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const conf = join(dir, 'nutcracker.yml')
  const log = join(dir, 'nutcracker.log')
  writeFileSync(conf, yaml)
  const statsPort = await freePort()
  const child = spawn('nutcracker', ['-c', conf, '-o', log, '-s', String(statsPort), '-a', '127.0.0.1', '-v', '4'],
    { stdio: 'ignore' })
  killAtTeardown(t, child, 'SIGTERM')
  let exited = false
  child.once('exit', () => { exited = true })
  await waitFor('nutcracker pools', async () => {
    if (exited) throw new Error(`nutcracker exited: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`)
    for (const p of ports) if (!(await canConnect('127.0.0.1', p))) return false
    return true
  })
  return child
}

/** A minimal text-protocol peer for the test: pipelined writes, replies read to a marker. */
export class RawText {
  private buf = Buffer.alloc(0)
  private waiter: (() => void) | null = null
  private constructor (private readonly sock: Socket) {
    sock.on('data', (d) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d])
      this.waiter?.()
    })
  }

  static async open (t: Tap, host: string, port: number): Promise<RawText> {
    const sock = connect(port, host)
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    sock.on('error', () => {})
    sock.setNoDelay(true)
    t.teardown(() => { sock.destroy() })
    return new RawText(sock)
  }

  /** Sends `req` and resolves with the reply once `done(reply)` says it is complete. */
  async request (req: Buffer, done: (reply: Buffer) => boolean, timeoutMs = 10000): Promise<Buffer> {
    this.buf = Buffer.alloc(0)
    this.sock.write(req)
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no complete reply after ${timeoutMs} ms: ${this.buf.subarray(-200).toString()}`)), timeoutMs)
      const check = (): void => {
        if (done(this.buf)) {
          clearTimeout(timer)
          this.waiter = null
          resolve(this.buf)
        }
      }
      this.waiter = check
      check()
    })
  }

  /** set each key to "1" (pipelined); resolves when every reply has arrived; returns them. */
  async setAll (keys: string[]): Promise<string[]> {
    const req = Buffer.from(keys.map((k) => `set ${k} 0 0 1\r\n1\r\n`).join(''))
    const reply = await this.request(req, (r) => countLines(r) >= keys.length)
    return reply.toString().split('\r\n').slice(0, keys.length)
  }

  /** The subset of keys this server holds (multi-gets of 100 keys, all pipelined). */
  async present (keys: string[]): Promise<Set<string>> {
    const found = new Set<string>()
    const batches: string[] = []
    for (let i = 0; i < keys.length; i += 100) batches.push(`get ${keys.slice(i, i + 100).join(' ')}\r\n`)
    const reply = await this.request(Buffer.from(batches.join('')), (r) => countEnds(r) >= batches.length)
    let off = 0
    while (off < reply.length) {
      const eol = reply.indexOf('\r\n', off)
      const line = reply.subarray(off, eol).toString()
      if (line === 'END') { off = eol + 2; continue }
      // VALUE <key> <flags> <bytes>
      const parts = line.split(' ')
      found.add(parts[1])
      off = eol + 2 + Number(parts[3]) + 2
    }
    return found
  }
}

function countLines (b: Buffer): number {
  let n = 0
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++
  return n
}

/** "END" lines in a reply whose values are all one byte "1". */
function countEnds (b: Buffer): number {
  let n = 0
  for (let i = b.indexOf('END\r\n'); i >= 0; i = b.indexOf('END\r\n', i + 5)) if (i === 0 || b[i - 1] === 10) n++
  return n
}
