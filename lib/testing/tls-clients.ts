/**
 * Real TLS clients for tests: `openssl s_client` scripted (bytes in, what the server sent
 * back out), and node:tls for quick exchanges. Test-only code: unstable API.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'

export interface SClientResult {
  /** What the server sent after the handshake (s_client -quiet prints only that). */
  out: string
  code: number | null
  err: string
}

/**
 * Runs `openssl s_client -quiet` against 127.0.0.1:port with the extra args (-CAfile,
 * -cert, -key, -tls1_2 ...), writes input, and waits for the server to close (end input
 * with `quit`) or for timeoutMs. -verify_return_error: a server certificate that does not
 * verify ends the handshake, as a real client would.
 */
export async function sClient (port: number, input: string, args: string[], timeoutMs = 5000): Promise<SClientResult> {
  return await new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-quiet', '-verify_return_error', '-connect', `127.0.0.1:${port}`, ...args])
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { err += String(d) })
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('exit', (code) => { clearTimeout(timer); resolve({ out, code, err }) })
    p.stdin.on('error', () => {})
    p.stdin.write(input)
    // s_client -quiet ignores stdin EOF; the server's close (quit) ends it.
  })
}

/** Plain TCP: send bytes, collect until the server closes or idleMs of silence. */
export async function plainExchange (port: number, input: string, idleMs = 500): Promise<{ out: string, closed: boolean }> {
  return await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let out = ''
    let timer = setTimeout(() => { s.destroy(); resolve({ out, closed: false }) }, idleMs)
    s.on('data', (d) => {
      out += d.toString('latin1')
      clearTimeout(timer)
      timer = setTimeout(() => { s.destroy(); resolve({ out, closed: false }) }, idleMs)
    })
    s.on('error', () => {})
    s.on('close', () => { clearTimeout(timer); resolve({ out, closed: true }) })
    s.write(input)
  })
}

export interface TlsClientFiles { ca: string, cert?: string, key?: string }

/** A node:tls connection that verified the server against files.ca (and shows files.cert). */
export async function tlsConnect (port: number, files: TlsClientFiles): Promise<tls.TLSSocket> {
  return await new Promise((resolve, reject) => {
    const s = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: fs.readFileSync(files.ca),
      cert: files.cert === undefined ? undefined : fs.readFileSync(files.cert),
      key: files.key === undefined ? undefined : fs.readFileSync(files.key),
    }, () => resolve(s))
    s.once('error', reject)
  })
}
