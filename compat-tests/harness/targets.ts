// What the suite talks to. A target is either a server kind the suite spawns itself
// (real memcached, our built memring) with whatever flags a test asks for, or an
// external HOST:PORT that is used as it is (tests needing flags are skipped there).
// The proxy kind is memring-proxy (static --servers mode) in front of two memring hosts
// the suite spawns; a test's server flags go to both hosts.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CompatFailure, CompatSkip } from './check.js'

export type TargetKind = 'memcached' | 'memring' | 'proxy' | 'external'

export interface Target {
  /** As given on the command line: memcached, memring, proxy or HOST:PORT. */
  readonly name: string
  readonly kind: TargetKind
  /** Set when the target cannot run here; all its tests are skipped with this reason. */
  readonly unavailable?: string
  readonly host: string
  /** Only for external targets. */
  readonly port?: number
}

export interface SaslUser { user: string, password: string }

export interface ServerOptions {
  /** memcached-style flags appended after -l/-p/-U (e.g. ['-I', '2m', '-A']). */
  flags?: readonly string[]
  /** Start with SASL (-S) and these PLAIN users. */
  sasl?: readonly SaslUser[]
  /** The test needs a server nobody has used yet (counts from zero). */
  fresh?: boolean
}

export interface RunningServer {
  readonly host: string
  readonly port: number
  /** What the process printed so far (for failure reports). */
  output (): string
  /** null while running. */
  exitCode (): number | null
  stop (): Promise<void>
}

/** The repository root: the nearest folder above this file with a package.json. */
export const repoRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error('compat-tests: cannot find the repository root')
    dir = up
  }
})()

export const memringBin = path.join(repoRoot, 'dist', 'bin', 'memring.js')
export const proxyBin = path.join(repoRoot, 'dist', 'bin', 'memring-proxy.js')
/** How many memring hosts the proxy target puts behind memring-proxy. */
export const PROXY_HOSTS = 2

function which (cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

export function parseTarget (spec: string): Target {
  if (spec === 'memcached') {
    return { name: spec, kind: 'memcached', host: '127.0.0.1', unavailable: which('memcached') ? undefined : 'memcached is not installed (Debian package memcached)' }
  }
  if (spec === 'memring') {
    return { name: spec, kind: 'memring', host: '127.0.0.1', unavailable: fs.existsSync(memringBin) ? undefined : `${path.relative(repoRoot, memringBin)} is not built yet` }
  }
  if (spec === 'proxy') {
    const missing = [memringBin, proxyBin].filter((f) => !fs.existsSync(f)).map((f) => path.relative(repoRoot, f))
    return { name: spec, kind: 'proxy', host: '127.0.0.1', unavailable: missing.length ? `${missing.join(' and ')} not built yet` : undefined }
  }
  const m = /^(.+):(\d+)$/.exec(spec)
  if (!m) throw new Error(`unknown target "${spec}": use memcached, memring, proxy or HOST:PORT`)
  return { name: spec, kind: 'external', host: m[1], port: Number(m[2]) }
}

const live = new Set<ChildProcess>()
const tmpDirs: string[] = []
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL')
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true })
})

/** A port that was free a moment ago (the kernel picks it; a clash is retried by the caller). */
function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

function canConnect (host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    const done = (v: boolean): void => { s.destroy(); resolve(v) }
    s.setTimeout(500, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

let tmpSeq = 0
export function makeTmpDir (label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `memring-compat-${label}-${process.pid}-${tmpSeq++}-`))
  tmpDirs.push(d)
  return d
}

/** SASL set-up: memcached reads users from a Cyrus sasldb; memring from a user:password file. */
function saslEnv (kind: TargetKind, users: readonly SaslUser[], dir: string): NodeJS.ProcessEnv {
  if (kind === 'memcached') {
    if (!which('saslpasswd2')) throw new CompatSkip('saslpasswd2 is not installed (Debian package sasl2-bin)')
    const db = path.join(dir, 'users.sasldb')
    for (const u of users) {
      const r = spawnSync('saslpasswd2', ['-p', '-f', db, '-a', 'memcached', '-c', u.user], { input: u.password })
      if (r.status !== 0) throw new CompatFailure(`saslpasswd2 failed: ${r.stderr}`)
    }
    fs.writeFileSync(path.join(dir, 'memcached.conf'), `mech_list: plain\nsasldb_path: ${db}\n`)
    return { SASL_CONF_PATH: dir }
  }
  const file = path.join(dir, 'sasl-pwdb')
  fs.writeFileSync(file, users.map((u) => `${u.user}:${u.password}\n`).join(''))
  return { MEMCACHED_SASL_PWDB: file, MEMRING_SASL_PWDB: file }
}

/** Spawns the target's server on a free loopback port and waits until it accepts connections. */
export async function startServer (target: Target, opts: ServerOptions = {}): Promise<RunningServer> {
  if (target.kind === 'external') {
    if ((opts.flags?.length ?? 0) > 0 || opts.sasl || opts.fresh) throw new CompatSkip('needs a server of its own (flags or a fresh start); an external target is used as it is')
    return { host: target.host, port: target.port!, output: () => '', exitCode: () => null, stop: async () => {} }
  }
  if (target.unavailable) throw new CompatSkip(target.unavailable)
  if (target.kind === 'proxy') return startProxy(opts)
  return startProcess(target.kind, opts)
}

/** The proxy's own login on SASL hosts (the test's users log in to the proxy). */
const PROXY_LOGIN: SaslUser = { user: 'memring-proxy', password: 'compat-backend-secret' }

/**
 * The proxy target: PROXY_HOSTS memring hosts started with the test's flags, and
 * memring-proxy in front of them. A SASL test: the proxy runs with -S and the test's
 * users, the hosts with -S and the proxy's own login (--backend-username).
 * COMPAT_PROXY_ARGS (space-separated) adds flags to the proxy's command line, e.g.
 * `--encrypt-values FILE` (lib/crypto/README.md lists what then differs).
 */
async function startProxy (opts: ServerOptions): Promise<RunningServer> {
  const hosts: RunningServer[] = []
  try {
    const hostOpts = opts.sasl ? { ...opts, sasl: [PROXY_LOGIN] } : opts
    for (let i = 0; i < PROXY_HOSTS; i++) hosts.push(await startProcess('memring', hostOpts))
    const proxy = await startProcess('proxy', { servers: hosts.map((h) => `${h.host}:${h.port}`), sasl: opts.sasl })
    const all = [proxy, ...hosts]
    return {
      host: proxy.host,
      port: proxy.port,
      output: () => all.map((s, i) => `${i === 0 ? 'proxy' : `host ${i}`}: ${s.output()}`).join('\n'),
      exitCode: () => all.map((s) => s.exitCode()).find((c) => c !== null) ?? null,
      stop: async () => { for (const s of all) await s.stop() },
    }
  } catch (e) {
    for (const h of hosts) await h.stop()
    throw e
  }
}

async function startProcess (kind: 'memcached' | 'memring' | 'proxy', opts: ServerOptions & { servers?: readonly string[] }): Promise<RunningServer> {
  let lastErr = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const flags = [...(opts.flags ?? [])]
    let env: NodeJS.ProcessEnv = { ...process.env }
    let dir: string | null = null
    if (opts.sasl) {
      dir = makeTmpDir('sasl')
      env = { ...env, ...saslEnv(kind, opts.sasl, dir) }
      flags.push('-S')
    }
    const base = ['-l', '127.0.0.1', '-p', String(port), '-U', '0']
    const [cmd, args] = kind === 'memcached'
      ? ['memcached', ['-u', 'root', ...base, ...flags]]
      : kind === 'proxy'
        ? [process.execPath, [proxyBin, '-l', '127.0.0.1', '-p', String(port), '--servers', (opts.servers ?? []).join(','),
            ...(opts.sasl ? ['--sasl-pwdb', env.MEMRING_SASL_PWDB!, '--backend-username', PROXY_LOGIN.user, '--backend-password', PROXY_LOGIN.password] : []),
            ...(process.env.COMPAT_PROXY_ARGS ?? '').split(' ').filter((a) => a !== ''), ...flags]]
        : [process.execPath, [memringBin, ...base, ...flags]]
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(child)
    let out = ''
    const keep = (d: Buffer): void => { if (out.length < 20000) out += d.toString() }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
    let code: number | null = null
    const exited = new Promise<void>((resolve) => child.once('exit', (c, sig) => { code = c ?? (sig ? 128 : 1); live.delete(child); resolve() }))
    child.once('error', (e) => { out += String(e); code = 127 })
    const deadline = Date.now() + 10000
    let up = false
    while (Date.now() < deadline && code === null) {
      if (await canConnect('127.0.0.1', port)) { up = true; break }
      await new Promise((r) => setTimeout(r, 25))
    }
    const cleanup = (): void => { if (dir) fs.rmSync(dir, { recursive: true, force: true }) }
    if (up) {
      return {
        host: '127.0.0.1',
        port,
        output: () => out,
        exitCode: () => code,
        stop: async () => {
          if (code === null) {
            child.kill('SIGTERM')
            const t = setTimeout(() => child.kill('SIGKILL'), 3000)
            await exited
            clearTimeout(t)
          }
          cleanup()
        },
      }
    }
    child.kill('SIGKILL')
    await exited
    cleanup()
    lastErr = `${cmd} ${args.join(' ')} ${code === null ? 'did not listen within 10 s' : `exited with ${code}`}: ${out.trim().slice(0, 500)}`
  }
  throw new CompatFailure(`could not start server: ${lastErr}`)
}
