/**
 * Differential harness for the meta protocol: plays scripted byte sequences over real TCP
 * connections to a target (real memcached 1.6.18, or memring) and returns what came back,
 * step by step. Test-only code.
 *
 * After each step the runner sends a sync probe on the same connection, a miss with an
 * opaque (`mg <sync key> O<tag>`, answered `EN O<tag>`), and reads up to its answer, so every
 * step's reply bytes are known exactly and a reply that should NOT come (quiet mode) would
 * show up in the step that caused it. Steps that leave a command half sent set `sync: false`.
 */

import { spawn } from 'node:child_process'
import net from 'node:net'

export interface Step {
  /** Connection index (scenarios may use several, e.g. stale-while-revalidate races). */
  c?: number
  /** Bytes to send (latin-1 string: each char is one byte). */
  send: string
  /** Exact reply bytes expected before the sync probe's answer. */
  want: string
  /** false when the step leaves a command unfinished (the next step completes it). */
  sync?: boolean
  /** true when memcached closes the connection after this step. */
  closes?: boolean
}

export interface Scenario {
  name: string
  steps: Step[]
  /** Replies depend on the 1 s server clock (t, l, exp): a tick between steps may shift
   *  them by one, so the scenario is retried (never more than twice) before it fails. */
  clock?: boolean
}

export interface Target {
  port: number
  close (): Promise<void>
}

const SYNC_KEY = '__meta_sync__'
let syncTag = 0

/** A connection that accumulates everything it receives. */
class Peer {
  private buf = Buffer.alloc(0)
  closed = false
  private waiter: (() => void) | null = null
  constructor (readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.wake() })
    sock.on('close', () => { this.closed = true; this.wake() })
    sock.on('error', () => { this.closed = true; this.wake() })
  }

  private wake (): void { const w = this.waiter; this.waiter = null; if (w) w() }

  /** Resolves with everything before `marker` (which is consumed), or on close/deadline. */
  async readUntil (marker: Buffer, deadlineMs: number): Promise<{ data: Buffer, found: boolean }> {
    const end = Date.now() + deadlineMs
    for (;;) {
      const i = this.buf.indexOf(marker)
      if (i >= 0) {
        const data = this.buf.subarray(0, i)
        this.buf = this.buf.subarray(i + marker.length)
        return { data, found: true }
      }
      const left = end - Date.now()
      if (this.closed || left <= 0) { const data = this.buf; this.buf = Buffer.alloc(0); return { data, found: false } }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.waiter = null; resolve() }, left)
        this.waiter = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  take (): Buffer { const d = this.buf; this.buf = Buffer.alloc(0); return d }
}

export async function connect (port: number): Promise<net.Socket> {
  return await new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.setNoDelay(true); resolve(s) })
    s.once('error', reject)
  })
}

export interface StepResult { got: string, want: string }

/**
 * Runs one scenario on a fresh target. `split` decides how each step's bytes are written:
 * 'whole' (one write), 'bytes' (one write per byte), or a number n (cut after byte n of
 * the step into two writes).
 */
export async function runScenario (target: Target, sc: Scenario, split: 'whole' | 'bytes' | number = 'whole'): Promise<StepResult[]> {
  const peers: Peer[] = []
  const results: StepResult[] = []
  try {
    for (const st of sc.steps) {
      const ci = st.c ?? 0
      while (peers.length <= ci) peers.push(new Peer(await connect(target.port)))
      const p = peers[ci]
      const bytes = Buffer.from(st.send, 'latin1')
      await writeSplit(p.sock, bytes, split)
      if (st.closes === true) {
        const r = await p.readUntil(Buffer.from('\u0000never\u0000'), 3000)
        results.push({ got: r.data.toString('latin1') + (p.closed ? '' : '<still open>'), want: st.want })
        continue
      }
      if (st.sync === false) continue
      const tag = `s${++syncTag}`
      p.sock.write(`mg ${SYNC_KEY} O${tag}\r\n`)
      const r = await p.readUntil(Buffer.from(`EN O${tag}\r\n`), 3000)
      results.push({ got: r.data.toString('latin1') + (r.found ? '' : '<no sync reply>'), want: st.want })
    }
  } finally {
    for (const p of peers) p.sock.destroy()
  }
  return results
}

async function writeSplit (sock: net.Socket, bytes: Buffer, split: 'whole' | 'bytes' | number): Promise<void> {
  if (split === 'whole' || bytes.length < 2) { sock.write(bytes); return }
  if (split === 'bytes') {
    for (let i = 0; i < bytes.length; i++) {
      sock.write(bytes.subarray(i, i + 1))
      // let each byte leave as its own segment: wait for the write to be flushed
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    return
  }
  const n = Math.max(1, Math.min(bytes.length - 1, split))
  sock.write(bytes.subarray(0, n))
  await new Promise<void>((resolve) => setImmediate(resolve))
  sock.write(bytes.subarray(n))
}

/** A free loopback port: bind port 0, read it, release it. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

/** True when the memcached binary can be run here. */
export async function haveMemcached (): Promise<boolean> {
  return await new Promise((resolve) => {
    const p = spawn('memcached', ['-h'], { stdio: 'ignore' })
    p.once('error', () => resolve(false))
    p.once('exit', (code) => resolve(code === 0))
  })
}

/** Starts a private real memcached on a free loopback port and waits until it accepts. */
export async function startMemcached (extraArgs: string[] = []): Promise<Target> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child = spawn('memcached', ['-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0', ...extraArgs], { stdio: 'ignore' })
    let exited = false
    child.once('exit', () => { exited = true })
    const deadline = Date.now() + 5000
    while (!exited && Date.now() < deadline) {
      try {
        const s = await connect(port)
        s.destroy()
        return {
          port,
          close: async () => {
            if (exited) return
            await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL') })
          },
        }
      } catch {
        await new Promise<void>((resolve) => setTimeout(resolve, 20))
      }
    }
    if (!exited) child.kill('SIGKILL')
    // Someone may have taken the port between our probe and memcached's bind: try again.
    if (attempt >= 3) throw new Error('memcached did not start')
  }
}
