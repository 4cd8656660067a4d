/**
 * Start the REAL memcached (Debian package) on a free loopback port, for differential
 * tests. Skips the calling test with a reason when the binary is missing.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import type { Test } from 'tap'

export const MEMCACHED_BIN = process.env.MEMCACHED_BIN ?? '/usr/bin/memcached'

export function haveMemcached (): boolean { return existsSync(MEMCACHED_BIN) }

/** A port that was free a moment ago (bind 0, read, close). */
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

export async function waitForPort (port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export interface RunningMemcached {
  port: number
  proc: ChildProcess
  /** What memcached wrote to stderr so far (its -v/-vv output); only with `{ stderr: true }`. */
  stderr: string
}

/** memcached -l 127.0.0.1 -p <free> -U 0 [args], killed at teardown. */
export async function startMemcached (t: Test, args: string[] = [], opts: { stderr?: boolean } = {}): Promise<RunningMemcached> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const proc = spawn(MEMCACHED_BIN, ['-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0', ...args], { stdio: opts.stderr === true ? ['ignore', 'ignore', 'pipe'] : 'ignore' })
    const running: RunningMemcached = { port, proc, stderr: '' }
    proc.stderr?.on('data', (d: Buffer) => { running.stderr += d.toString('latin1') })
    let exited = false
    proc.once('exit', () => { exited = true })
    try {
      await waitForPort(port, 3000)
      if (exited) throw new Error('memcached exited')
      t.teardown(async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return // already gone (a test killed it)
        proc.kill('SIGKILL')
        await new Promise((resolve) => proc.once('exit', resolve))
      })
      return running
    } catch (err) {
      proc.kill('SIGKILL')
      if (attempt >= 2) throw err
    }
  }
}
