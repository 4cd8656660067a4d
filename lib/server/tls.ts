/**
 * Server TLS with memcached 1.6's settings (-Z, -o ssl_*): the files are read as memcached's
 * ssl_init reads them (chain, then key, then the CA list, then the ciphers), a failure is
 * memcached's message (`Error loading the certificate chain: FILE : REASON`, ...), and
 * `refresh_certs` builds a new context from the same files while old connections keep theirs.
 * node:tls does all the cryptography. A listener is TLS only when -Z is on and its -l spec
 * has no `notls:` prefix, so a plaintext listener pays nothing for any of this.
 */
import { readFileSync } from 'node:fs'
import { createPrivateKey } from 'node:crypto'
import tls from 'node:tls'
import type net from 'node:net'

/** memcached's ssl_* settings (stats settings shows every one). */
export interface TlsSettings {
  /** -Z */
  enabled: boolean
  /** ssl_chain_cert: PEM chain, the server's certificate first. */
  chainCert: string | null
  /** ssl_key: the private key file (memcached does not look for it in the chain file). */
  key: string | null
  /** ssl_keyformat: OpenSSL's file types, 1 = PEM, 2 = DER (ASN1). */
  keyFormat: number
  /** ssl_verify_mode: 0 none, 1 request (a bad cert fails), 2 require, 3 once (= require). */
  verifyMode: number
  /** ssl_ca_cert: PEM list of the CAs client certificates are checked against. */
  caCert: string | null
  /** ssl_ciphers: an OpenSSL cipher list (null: node's default). */
  ciphers: string | null
  /** ssl_min_version: 0 TLSv1, 1 TLSv1.1, 2 TLSv1.2, 3 TLSv1.3 */
  minVersion: number
  /** ssl_wbuf_size in bytes: shown only (node's TLS socket has its own buffering). */
  wbufSize: number
  /** ssl_session_cache: shown only (node resumes sessions with tickets by default). */
  sessionCache: boolean
  /** ssl_kernel_tls: shown only (node:tls has no kTLS). */
  kernelTls: boolean
}

export function defaultTlsSettings (): TlsSettings {
  return {
    enabled: false,
    chainCert: null,
    key: null,
    keyFormat: 1,
    verifyMode: 0,
    caCert: null,
    ciphers: null,
    minVersion: 2,
    wbufSize: 16 * 1024,
    sessionCache: false,
    kernelTls: false,
  }
}

const MIN_VERSIONS: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

/** `stats settings` ssl_min_version. */
export function minVersionName (n: number): string { return MIN_VERSIONS[n].toLowerCase() }

/** A certificate file that cannot be used: memcached's message; it exits EX_USAGE (64). */
export class TlsLoadError extends Error {
  readonly code = 'MEMRING_ERR_TLS_LOAD'
  constructor (message: string) {
    super(message)
    this.name = 'TlsLoadError'
  }
}

/** OpenSSL's reason text for a file error (what memcached prints after the file name). */
function fileReason (err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'error:80000002:system library::No such file or directory'
  if (code === 'EACCES') return 'error:8000000D:system library::Permission denied'
  if (code === 'EISDIR') return 'error:80000015:system library::Is a directory'
  return (err as Error).message
}

function read (what: string, file: string | null): Buffer {
  if (file === null) throw new TlsLoadError(`Error loading the ${what}: (null) : error:8000000E:system library::Bad address`)
  try {
    return readFileSync(file)
  } catch (err) {
    throw new TlsLoadError(`Error loading the ${what}: ${file} : ${fileReason(err)}`)
  }
}

/**
 * Reads the files and builds the options of a TLS server (or of refresh_certs). Throws
 * TlsLoadError with memcached's message; each step fails where memcached's does.
 */
export function loadServerTls (s: TlsSettings): tls.TlsOptions {
  const cert = read('certificate chain', s.chainCert)
  const keyFile = s.key
  let key: Buffer | string = read('key', keyFile)
  const keyError = (reason: string): TlsLoadError => new TlsLoadError(`Error loading the key: ${keyFile ?? '(null)'} : ${reason}`)
  if (s.keyFormat === 2) {
    try { key = createPrivateKey({ key, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) } catch {
      try { key = createPrivateKey({ key, format: 'der', type: 'pkcs1' }).export({ format: 'pem', type: 'pkcs1' }) } catch (err) { throw keyError((err as Error).message) }
    }
  } else if (s.keyFormat !== 1) {
    throw keyError('error:0A00007C:SSL routines::bad ssl filetype')
  }
  const opts: tls.TlsOptions = { cert, key, minVersion: MIN_VERSIONS[s.minVersion] }
  try { tls.createSecureContext({ cert, key }) } catch (err) {
    const m = (err as Error).message
    throw /key|decoder|PEM/i.test(m) && !/no start line/.test(m) ? keyError(m) : new TlsLoadError(`Error loading the certificate chain: ${s.chainCert ?? '(null)'} : ${m}`)
  }
  if (s.caCert !== null) {
    opts.ca = read('CA certificate', s.caCert)
    try { tls.createSecureContext({ ca: opts.ca }) } catch (err) {
      throw new TlsLoadError(`Error loading the CA certificate: ${s.caCert} : ${(err as Error).message}`)
    }
  }
  if (s.ciphers !== null) {
    opts.ciphers = s.ciphers
    try { tls.createSecureContext({ ciphers: s.ciphers }) } catch {
      throw new TlsLoadError(`Error setting the provided cipher(s): ${s.ciphers}`)
    }
  }
  // memcached's modes: 1 = SSL_VERIFY_PEER (a certificate is asked for; a bad one fails the
  // handshake, none is fine); 2 and 3 add FAIL_IF_NO_PEER_CERT (3's CLIENT_ONCE only matters
  // for renegotiation, which node refuses anyway).
  opts.requestCert = s.verifyMode >= 1
  opts.rejectUnauthorized = s.verifyMode >= 2
  return opts
}

/**
 * True when a socket accepted under ssl_verify_mode 1 must be dropped: it presented a
 * certificate that does not verify (OpenSSL fails that handshake; node lets it finish, so
 * we close before the first byte is read).
 */
export function badOptionalCert (socket: tls.TLSSocket, verifyMode: number): boolean {
  if (verifyMode !== 1 || socket.authorized) return false
  const peer = socket.getPeerCertificate()
  return peer !== null && Object.keys(peer).length > 0
}

/**
 * A handshake OpenSSL failed on the client's bytes: plaintext on a TLS port, a required
 * certificate missing (ERR_SSL_* codes). Not counted: a client that hangs up or aborts with
 * an alert (it distrusts our certificate), nor a client certificate that fails verification
 * (node checks it after the handshake). memcached 1.6.18 counts plaintext alike; whether
 * it counts a missing certificate varies from run to run there (README).
 */
function countsAsHandshakeError (err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  return code.startsWith('ERR_SSL_') && !code.includes('_ALERT_')
}

/** `stats settings` ssl_verify_mode: memcached shows OpenSSL's SSL_VERIFY_* bits of the mode. */
export function verifyModeBits (mode: number): number { return [0, 1, 3, 7][mode] }

/** How long a client may take over its handshake (node's default is 120 s). */
const HANDSHAKE_MS = 10_000

/** Splits memcached's `notls:` prefix off an -l spec. */
export function listenSpec (spec: string): { spec: string, tls: boolean } {
  return spec.startsWith('notls:') ? { spec: spec.slice(6), tls: false } : { spec, tls: true }
}

/**
 * The TLS half of a server's listeners: builds them, counts failed handshakes and swaps
 * certificates on refresh_certs. Used by lib/server and the proxy frontend alike.
 */
export class TlsTerminator {
  private options: tls.TlsOptions
  private readonly servers: tls.Server[] = []
  /** Failed handshakes (stats ssl_handshake_errors). */
  handshakeErrors = 0
  /** Unix seconds of the last successful refresh_certs; 0 = none since start. */
  lastRefreshSec = 0

  constructor (readonly settings: TlsSettings) {
    this.options = loadServerTls(settings)
  }

  /**
   * A TLS listener handing verified sockets to onSocket (the same handler as plaintext).
   * A socket still in its handshake is not a Connection yet, so -c does not see it: the
   * listener itself closes sockets past 2 x maxConns (room for the -c check to answer
   * `ERROR Too many open connections` over TLS), and a handshake gets HANDSHAKE_MS.
   */
  listener (serverOpts: net.ServerOpts, maxConns: number, onSocket: (s: net.Socket) => void): tls.Server {
    const l = tls.createServer({ ...serverOpts, ...this.options, handshakeTimeout: HANDSHAKE_MS }, (s) => {
      if (badOptionalCert(s, this.settings.verifyMode)) { s.destroy(); return }
      onSocket(s)
    })
    l.on('tlsClientError', (err, s) => {
      if (countsAsHandshakeError(err)) this.handshakeErrors++
      s.destroy()
    })
    l.maxConnections = maxConns * 2
    this.servers.push(l)
    return l
  }

  /** refresh_certs: null when the new files are in use, else memcached's error line. */
  refresh (): string | null {
    try {
      this.options = loadServerTls(this.settings)
    } catch (err) {
      if (err instanceof TlsLoadError) return err.message
      throw err
    }
    for (const l of this.servers) l.setSecureContext(this.options)
    this.lastRefreshSec = Math.floor(Date.now() / 1000)
    return null
  }
}
