/**
 * Differential harness for the binary protocol: starts real memcached, sends a request
 * script in one write, half-closes, and collects every response byte until the server
 * closes. Half-closing makes the end deterministic without sleeps: both memcached and
 * memring flush what they owe when they need more input, then close on EOF.
 * Test-only code.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { decode, type BinaryResponse } from '../../../protocol/binary/response-parser.js'
import { HEADER_LEN } from '../../../protocol/binary/header.js'

export interface Teardown { teardown (fn: () => unknown): void }

export function hasCommand (cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    const done = (v: boolean): void => { s.destroy(); resolve(v) }
    s.setTimeout(500, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

export interface SaslUser { user: string, password: string }

/**
 * Starts `memcached -u root -l 127.0.0.1 -p PORT -U 0 ...flags` and waits until it accepts.
 * With `sasl`, users go into a Cyrus sasldb (Debian's memcached is built without its own
 * password-file support) and -S is added.
 */
export async function startMemcached (t: Teardown, flags: string[] = [], sasl?: SaslUser[]): Promise<number> {
  let env: NodeJS.ProcessEnv = { ...process.env }
  let dir: string | null = null
  if (sasl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-bin-sasl-'))
    const db = path.join(dir, 'users.sasldb')
    for (const u of sasl) {
      const r = spawnSync('saslpasswd2', ['-p', '-f', db, '-a', 'memcached', '-c', u.user], { input: u.password })
      if (r.status !== 0) throw new Error(`saslpasswd2 failed: ${String(r.stderr)}`)
    }
    fs.writeFileSync(path.join(dir, 'memcached.conf'), `mech_list: plain\nsasldb_path: ${db}\n`)
    env = { ...env, SASL_CONF_PATH: dir }
    flags = [...flags, '-S']
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const child: ChildProcess = spawn('memcached', ['-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0', ...flags],
      { env, stdio: 'ignore' })
    let exited = false
    const gone = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve() }))
    const deadline = Date.now() + 5000
    while (!exited && Date.now() < deadline) {
      if (await canConnect(port)) {
        t.teardown(async () => {
          // SIGKILL: memcached acts on SIGTERM only at its next 1 s clock tick.
          child.kill('SIGKILL')
          await gone
          if (dir) fs.rmSync(dir, { recursive: true, force: true })
        })
        return port
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    child.kill('SIGKILL')
    await gone
    if (attempt === 2) throw new Error('memcached did not start')
  }
}

export interface Exchange {
  /** Every byte the server sent, in order. */
  bytes: Buffer
  /** Whether the server reset the connection (it closed with our bytes unread). */
  reset: boolean
}

/** Connects, writes `script` in one write, half-closes and reads until the server closes. */
export function exchange (port: number, script: Buffer, timeoutMs = 10000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port })
    const got: Buffer[] = []
    let reset = false
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no close from server within deadline')) }, timeoutMs)
    s.on('connect', () => { s.end(script) })
    s.on('data', (d) => got.push(d))
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') { reset = true; return }
      clearTimeout(timer)
      reject(err)
    })
    s.on('close', () => { clearTimeout(timer); resolve({ bytes: Buffer.concat(got), reset }) })
  })
}

/** Splits a response stream into packets plus any trailing bytes that are not one. */
/** The same script (text, or bytes) sent to memcached and memring: both replies, as latin1. */
export async function both (mc: number, mr: number, script: string | Buffer): Promise<[string, string]> {
  const data = typeof script === 'string' ? Buffer.from(script, 'latin1') : script
  const [x, y] = await Promise.all([exchange(mc, data), exchange(mr, data)])
  return [x.bytes.toString('latin1'), y.bytes.toString('latin1')]
}

export function packets (bytes: Buffer): { list: BinaryResponse[], trailing: Buffer } {
  const list: BinaryResponse[] = []
  let off = 0
  while (bytes.length - off >= HEADER_LEN) {
    const size = HEADER_LEN + bytes.readUInt32BE(off + 8)
    if (bytes.length - off < size) break
    list.push(decode(Buffer.from(bytes.subarray(off, off + size))))
    off += size
  }
  return { list, trailing: bytes.subarray(off) }
}

/** A readable line per packet, for failure messages and transcripts. */
export function transcript (bytes: Buffer): string[] {
  const { list, trailing } = packets(bytes)
  const lines = list.map((r) => {
    const v = r.value.length > 48 ? `${printable(r.value.subarray(0, 48))}...(${r.value.length})` : printable(r.value)
    return `op=${hex2(r.opcode)} st=${r.status.toString(16)} opq=${r.opaque} cas=${r.cas} ext=${r.extras.toString('hex')} key=${printable(r.key)} val=${v}`
  })
  if (trailing.length > 0) lines.push(`trailing ${trailing.toString('hex')}`)
  return lines
}

function hex2 (n: number): string { return n.toString(16).padStart(2, '0') }
function printable (b: Buffer): string {
  let s = ''
  for (const c of b) s += c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${hex2(c)}`
  return s
}

/**
 * Renames CAS values in order of first appearance (1, 2, 3 ...) in place, and replaces
 * the VERSION body with "V". Two servers then compare equal exactly when their CAS values
 * relate the same way (same item, same CAS; new write, new CAS) and everything else is
 * byte-identical.
 */
export function normalize (bytes: Buffer): Buffer {
  const { list, trailing } = packets(bytes)
  const seen = new Map<number, number>()
  const out: Buffer[] = []
  for (const r of list) {
    const raw = Buffer.from(r.raw)
    if (r.cas !== 0) {
      let n = seen.get(r.cas)
      if (n === undefined) { n = seen.size + 1; seen.set(r.cas, n) }
      raw.writeUInt32BE(0, 16)
      raw.writeUInt32BE(n, 20)
    }
    if (r.opcode === 0x0b && r.status === 0) {
      const head = Buffer.from(raw.subarray(0, HEADER_LEN))
      head.writeUInt32BE(1, 8)
      out.push(head, Buffer.from('V'))
      continue
    }
    out.push(raw)
  }
  out.push(trailing)
  return Buffer.concat(out)
}
