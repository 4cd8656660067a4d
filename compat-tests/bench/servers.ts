// The servers a benchmark measures, each in its own process, optionally pinned to one CPU
// with taskset (taskset execs, so the pid we hold is the server's own and /proc/<pid>/stat
// reports the server's CPU time). memcached and memring start with the same memcached
// flags; 'ceiling' is Node's I/O ceiling (ceiling-server.ts: stores nothing).

import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { memringBin } from '../harness/targets.js'

/**
 * memring-before: another memring build (StartOptions.memringBin: a before/after comparison
 * in one run); ceiling-data: the ceiling reading with 'data' events (its earlier input path);
 * ceiling-stream: the ceiling writing through socket.write (its earlier output path);
 * ceiling-now: the ceiling writing each reply at once instead of once per event-loop turn;
 * ceiling-store: the ceiling keeping items in a real SlabStore (`--store`).
 */
export type ServerKind = 'memcached' | 'memring' | 'ceiling' | 'memring-before' | 'ceiling-data' | 'ceiling-stream' | 'ceiling-now' | 'ceiling-store'
export const SERVER_KINDS: readonly ServerKind[] = ['memcached', 'memring', 'ceiling', 'memring-before', 'ceiling-data', 'ceiling-stream', 'ceiling-now', 'ceiling-store']
const ceilingBin = fileURLToPath(new URL('./ceiling-server.js', import.meta.url))

export interface StartOptions {
  kind: ServerKind
  /** CPU to pin the server to, or null to let the scheduler place it. */
  cpu: number | null
  memoryMb: number
  /** memcached -t (memring accepts and ignores it: one event loop). */
  threads: number
  /** Extra node flags for memring (e.g. --cpu-prof). */
  nodeArgs?: readonly string[]
  /** Extra memring flags (e.g. --replica-of HOST:PORT). */
  extraArgs?: readonly string[]
  /** The ceiling server's value size (it answers every get with one of these). */
  valueBytes?: number
  /** Another memring build to run instead of this tree's (a before/after comparison). */
  memringBin?: string
}

export interface BenchServer {
  readonly kind: ServerKind
  readonly port: number
  readonly pid: number
  /** stdout + stderr so far (for error reports). */
  output (): string
  /**
   * graceful: SIGTERM, then SIGKILL if it has not exited within graceMs (needed for
   * node --cpu-prof to write its profile). Otherwise SIGKILL at once: the measurement is
   * over, and memcached takes up to a second to act on SIGTERM.
   */
  stop (graceful?: boolean, graceMs?: number): Promise<void>
}

const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) p.kill('SIGKILL') })

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port
      s.close(() => resolve(p))
    })
  })
}

/** One request/response exchange on a fresh connection; resolves with what came back. */
export async function exchange (port: number, req: Buffer, done: (got: Buffer) => boolean, timeoutMs: number): Promise<Buffer | null> {
  return await new Promise((resolve) => {
    const chunks: Buffer[] = []
    const s = net.connect(port, '127.0.0.1')
    const finish = (v: Buffer | null): void => { clearTimeout(timer); s.destroy(); resolve(v) }
    const timer = setTimeout(() => finish(null), timeoutMs)
    s.on('connect', () => s.write(req))
    s.on('data', (c: Buffer) => {
      chunks.push(c)
      const got = Buffer.concat(chunks)
      if (done(got)) finish(got)
    })
    s.on('error', () => finish(null))
    s.on('close', () => finish(chunks.length > 0 ? Buffer.concat(chunks) : null))
  })
}

export async function answersVersion (port: number): Promise<boolean> {
  const got = await exchange(port, Buffer.from('version\r\n'), (b) => b.includes(10), 500)
  return got !== null && got.toString('latin1').startsWith('VERSION ')
}

/**
 * Whether the server speaks the binary protocol: a binary VERSION request (magic 0x80,
 * opcode 0x0b, no key/extras/body) must come back as a response packet (magic 0x81).
 */
export async function speaksBinary (port: number): Promise<boolean> {
  const req = Buffer.alloc(24)
  req[0] = 0x80
  req[1] = 0x0b
  const got = await exchange(port, req, (b) => b.length >= 24, 1500)
  return got !== null && got.length >= 24 && got[0] === 0x81 && got[1] === 0x0b && got.readUInt16BE(6) === 0
}

export async function startServer (o: StartOptions): Promise<BenchServer> {
  let lastErr: Error | null = null
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const common = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', String(o.memoryMb), '-t', String(o.threads)]
    const argv = o.kind === 'memcached'
      ? ['memcached', '-u', 'root', ...common]
      : o.kind.startsWith('ceiling')
        ? [process.execPath, ...(o.nodeArgs ?? []), ceilingBin, '-l', '127.0.0.1', '-p', String(port), '--value-bytes', String(o.valueBytes ?? 100),
            '--input', o.kind === 'ceiling-data' ? 'data' : 'onread', '--output', o.kind === 'ceiling-stream' ? 'stream' : 'direct', '--flush', o.kind === 'ceiling-now' ? 'now' : 'batch',
            ...(o.kind === 'ceiling-store' ? ['--store'] : [])]
        : [process.execPath, ...(o.nodeArgs ?? []), o.memringBin ?? memringBin, ...common, ...(o.extraArgs ?? [])]
    const [cmd, ...args] = o.cpu === null ? argv : ['taskset', '-c', String(o.cpu), ...argv]
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(proc)
    let out = ''
    proc.stdout.on('data', (c: Buffer) => { out += c.toString() })
    proc.stderr.on('data', (c: Buffer) => { out += c.toString() })
    const exited = new Promise<void>((resolve) => proc.once('exit', () => { live.delete(proc); resolve() }))
    const deadline = Date.now() + 15000
    let up = false
    while (!up && proc.exitCode === null && proc.signalCode === null && Date.now() < deadline) {
      up = await answersVersion(port)
      if (!up) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    if (up && proc.pid !== undefined) {
      const pid = proc.pid
      return {
        kind: o.kind,
        port,
        pid,
        output: () => out,
        async stop (graceful = true, graceMs = 5000) {
          if (proc.exitCode !== null || proc.signalCode !== null) return
          proc.kill(graceful ? 'SIGTERM' : 'SIGKILL')
          const t = setTimeout(() => proc.kill('SIGKILL'), graceMs)
          await exited
          clearTimeout(t)
        },
      }
    }
    proc.kill('SIGKILL')
    await exited
    lastErr = new Error(`${o.kind} did not answer on port ${port}: ${out.trim().slice(-500)}`)
  }
  throw lastErr ?? new Error(`${o.kind} did not start`)
}
