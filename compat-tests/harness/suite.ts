// How compat scripts are declared. A suite is one row of the final table (a command
// family or a real client); it gets one server per target, started with the suite's
// flags, and runs its tests one after another on it. A test that needs a server of
// its own (other flags, SASL, a restart) asks ctx.spawn() for one.

import { spawn } from 'node:child_process'
import { CompatFailure, CompatSkip } from './check.js'
import { RawConn } from './raw.js'
import { startServer, makeTmpDir, type RunningServer, type ServerOptions, type Target } from './targets.js'

export interface Ctx {
  readonly target: Target
  /** The suite's server. */
  readonly server: RunningServer
  /** A new raw connection to `to` (default: the suite's server); closed after the test. */
  conn (to?: RunningServer): Promise<RawConn>
  /** A dedicated server with other flags; stopped after the test. Skips on external targets. */
  spawn (opts: ServerOptions): Promise<RunningServer>
  /** Marks the test skipped on this target, with a reason. */
  skip (reason: string): never
  /** A fresh temporary directory, removed with the process' tmp cleanup. */
  tmpDir (): string
  /** Runs a program to completion (killed at the deadline). */
  exec (cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>
  /** Polls cond until it returns true or the deadline passes; returns elapsed ms. */
  waitFor (what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number, everyMs?: number): Promise<number>
  /** Appends a line to the test's detail (shown with -v and in failures). */
  note (msg: string): void
}

export interface ExecOptions { timeoutMs?: number, env?: NodeJS.ProcessEnv, input?: string, cwd?: string }
export interface ExecResult { code: number | null, signal: string | null, stdout: string, stderr: string, timedOut: boolean }

export interface TestDef {
  name: string
  /** Default 10 s. */
  timeoutMs?: number
  run (ctx: Ctx): Promise<void>
}

export interface SuiteDef {
  /** Row name, e.g. "text/storage" or "client/pymemcache". */
  name: string
  layer: 'text' | 'meta' | 'binary' | 'client'
  /** Flags for the suite's shared server. */
  server?: ServerOptions
  /** The suite checks the suite itself and needs no server. */
  noServer?: boolean
  tests: TestDef[]
}

export function suite (name: string, layer: SuiteDef['layer'], tests: TestDef[], server?: ServerOptions): SuiteDef {
  return { name, layer, tests, server }
}

export function test (name: string, run: (ctx: Ctx) => Promise<void>, timeoutMs?: number): TestDef {
  return { name, run, timeoutMs }
}

export interface TestResult {
  suite: string
  test: string
  target: string
  status: 'pass' | 'fail' | 'skip'
  ms: number
  message?: string
}

export function exec (cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d: Buffer) => { if (stdout.length < 200000) stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 200000) stderr += d.toString() })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, opts.timeoutMs ?? 30000)
    child.on('error', (e) => { stderr += String(e) })
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }) })
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/** Runs one suite against one target; never throws. */
export async function runSuite (s: SuiteDef, target: Target, only: RegExp | null, onResult: (r: TestResult) => void): Promise<void> {
  const tests = s.tests.filter((t) => !only || only.test(`${s.name} ${t.name}`))
  if (tests.length === 0) return
  const base = { suite: s.name, target: target.name }
  let server: RunningServer
  try {
    server = s.noServer
      ? { host: '', port: 0, output: () => '', exitCode: () => null, stop: async () => {} }
      : await startServer(target, s.server)
  } catch (e) {
    const skip = e instanceof CompatSkip
    for (const t of tests) onResult({ ...base, test: t.name, status: skip ? 'skip' : 'fail', ms: 0, message: (e as Error).message })
    return
  }
  try {
    for (const t of tests) {
      if (server.exitCode() !== null) {
        onResult({ ...base, test: t.name, status: 'fail', ms: 0, message: `server exited earlier (code ${server.exitCode()}): ${server.output().slice(-800)}` })
        continue
      }
      onResult(await runTest(t, target, server, base))
    }
  } finally {
    await server.stop()
  }
}

async function runTest (t: TestDef, target: Target, server: RunningServer, base: { suite: string, target: string }): Promise<TestResult> {
  const conns: RawConn[] = []
  const servers: RunningServer[] = []
  const notes: string[] = []
  const ctx: Ctx = {
    target,
    server,
    async conn (to) {
      const s = to ?? server
      const c = await RawConn.connect(s.host, s.port)
      conns.push(c)
      return c
    },
    async spawn (opts) {
      const s = await startServer(target, opts)
      servers.push(s)
      return s
    },
    skip (reason) { throw new CompatSkip(reason) },
    tmpDir: () => makeTmpDir('t'),
    exec,
    async waitFor (what, cond, timeoutMs, everyMs = 50) {
      const start = Date.now()
      for (;;) {
        if (await cond()) return Date.now() - start
        if (Date.now() - start > timeoutMs) throw new CompatFailure(`timed out after ${timeoutMs} ms waiting for ${what}`)
        await new Promise((r) => setTimeout(r, everyMs))
      }
    },
    note (msg) { notes.push(msg) },
  }
  const start = Date.now()
  const limit = t.timeoutMs ?? 10000
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      t.run(ctx),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new CompatFailure(`test timed out after ${limit} ms`)), limit) }),
    ])
    return { ...base, test: t.name, status: 'pass', ms: Date.now() - start, message: notes.join('; ') || undefined }
  } catch (e) {
    const skip = e instanceof CompatSkip
    let message = e instanceof Error ? (e instanceof CompatFailure || skip ? e.message : e.stack ?? e.message) : String(e)
    if (!skip && server.exitCode() !== null) message += `\n      server exited (code ${server.exitCode()}): ${server.output().slice(-800)}`
    if (notes.length) message += `\n      notes: ${notes.join('; ')}`
    return { ...base, test: t.name, status: skip ? 'skip' : 'fail', ms: Date.now() - start, message }
  } finally {
    clearTimeout(timer)
    for (const c of conns) c.close()
    for (const s of servers) await s.stop()
  }
}
