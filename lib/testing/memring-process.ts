// lib/testing/memring-process.ts
/**
 * Spawns the BUILT memring binary (dist/bin/memring.js) as a real process, for tests
 * that need real process deaths (kill -9) and restarts: cluster and proxy failover.
 * Waits until the port accepts connections; killed at the end of the test.
 * Test-only code: unstable API.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { freePort, type Teardown } from './zookeeper.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const MEMRING_BIN = path.resolve(HERE, '../../bin/memring.js')
export const PROXY_BIN = path.resolve(HERE, '../../bin/memring-proxy.js')
const PREWARM_BIN = path.resolve(HERE, 'prewarm-memring.js')

export class ChildServer {
  readonly port: number
  readonly args: readonly string[]
  readonly bin: string
  #proc: ChildProcess | null = null
  #exit: Promise<number | null> = Promise.resolve(null)
  stderr = ''
  /** Extra environment for the process (e.g. the test hooks' WAN map); none by default. */
  readonly env: NodeJS.ProcessEnv | undefined

  constructor (bin: string, port: number, args: string[], env?: NodeJS.ProcessEnv) { this.bin = bin; this.port = port; this.args = args; this.env = env }

  #spawnEnv (): NodeJS.ProcessEnv | undefined { return this.env === undefined ? undefined : { ...process.env, ...this.env } }

  get pid (): number | null { return this.#proc?.pid ?? null }
  get running (): boolean { return this.#proc !== null }
  get address (): string { return `127.0.0.1:${this.port}` }

  async start (timeoutMs = 10_000): Promise<void> {
    this.#adopt(spawn(process.execPath, [this.bin, ...this.args], { stdio: ['ignore', 'ignore', 'pipe'], env: this.#spawnEnv() }))
    await this.#waitListening(timeoutMs)
  }

  /**
   * For a restart faster than a cold Node start (memring only): spawns the replacement NOW,
   * with memring's modules loaded but main not run (prewarm-memring.ts), while the current
   * process may still run. The returned function starts it and waits until it listens; call
   * it once the current process is gone.
   */
  async prewarm (timeoutMs = 10_000): Promise<(startTimeoutMs?: number) => Promise<void>> {
    if (this.bin !== MEMRING_BIN) throw new Error('prewarm: memring only')
    const proc = spawn(process.execPath, [PREWARM_BIN, ...this.args], { stdio: ['ignore', 'ignore', 'pipe'], env: this.#spawnEnv() })
    live.add(proc)
    proc.once('exit', () => live.delete(proc))
    let said = ''
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        said += d.toString()
        if (said.includes('prewarmed\n')) { clearTimeout(timer); proc.stderr?.off('data', onData); resolve() }
      }
      const timer = setTimeout(() => reject(new Error(`prewarmed memring not ready after ${timeoutMs} ms: ${said}`)), timeoutMs)
      proc.stderr?.on('data', onData)
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`prewarmed memring exited (${code}): ${said}`)) })
    })
    return async (startTimeoutMs = timeoutMs) => {
      this.#adopt(proc)
      proc.kill('SIGUSR2')
      await this.#waitListening(startTimeoutMs)
    }
  }

  #adopt (proc: ChildProcess): void {
    this.#proc = proc
    live.add(proc)
    this.stderr = ''
    proc.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.#exit = new Promise((resolve) => {
      const done = (code: number | null): void => {
        live.delete(proc)
        if (this.#proc === proc) this.#proc = null
        resolve(code)
      }
      if (proc.exitCode !== null || proc.signalCode !== null) done(proc.exitCode)
      else proc.once('exit', done)
    })
  }

  async #waitListening (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!await canConnect(this.port)) {
      if (this.#proc === null) throw new Error(`${path.basename(this.bin)} exited before listening: ${this.stderr}`)
      if (Date.now() > deadline) throw new Error(`${path.basename(this.bin)} not listening on ${this.port} after ${timeoutMs} ms: ${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  /** Resolves with the exit code once the process is gone. */
  exited (): Promise<number | null> { return this.#exit }

  async kill (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.#proc
    if (p === null) return
    p.kill(signal)
    await this.#exit
  }
}

/** memring on a free loopback port with extra args (e.g. --zk ... --cluster c --shard 0). */
export async function startMemringProcess (t: Teardown, args: string[] = [], opts: { port?: number, env?: NodeJS.ProcessEnv } = {}): Promise<ChildServer> {
  const port = opts.port ?? await freePort()
  const s = new ChildServer(MEMRING_BIN, port, ['-p', String(port), '-l', '127.0.0.1', '-m', '32', '-U', '0', ...args], opts.env)
  t.teardown(() => s.kill())
  await s.start()
  return s
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL') } catch {} } })
