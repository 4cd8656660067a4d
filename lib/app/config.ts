/**
 * memcached's command line -> ServerSettings, pure and unit-tested. bin/memring.ts defines
 * the options (commander); this module validates values with memcached's rules and
 * messages, and returns either settings or a ConfigError: a usage error (exit code 2), or for
 * `-o` suboptions memcached's own message and exit code (suboptions.ts).
 */
import { defaultSettings } from '../server/settings.js'
import type { ServerSettings } from '../server/settings.js'
import { ConfigError, memcachedError } from './config-error.js'
import { applySuboptions, checkSuboptions } from './suboptions.js'

/** Raw option values as commander gives them (strings, booleans, counts). */
export interface RawServerOptions {
  port?: string
  udpPort?: string
  /** false: `port` is the command line's default, not given (memcached's -U then sets the TCP port too). */
  portGiven?: boolean
  listen?: string[]
  memoryLimit?: string
  connLimit?: string
  threads?: string
  maxItemSize?: string
  slabGrowthFactor?: string
  slabMinSize?: string
  disableCas?: boolean
  disableEvictions?: boolean
  enableShutdown?: boolean
  disableFlushAll?: boolean
  verbose?: number
  extended?: string[]
  listenBacklog?: string
  maxReqsPerEvent?: string
  protocol?: string
  enableSasl?: boolean
  saslPwdb?: string
  authFile?: string
  user?: string
  pidfile?: string
  lockMemory?: boolean
  daemon?: boolean
  unixSocket?: string
  memoryFile?: string
  disableWatch?: boolean
  prefixDelimiter?: string
  unixMask?: string
  enableSsl?: boolean
  connOutputLimit?: string
}

export { ConfigError }

function int (name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim())) throw new ConfigError(`${name}: '${v}' is not a non-negative integer`)
  const n = Number(v.trim())
  if (n < min || n > max) throw new ConfigError(`${name}: ${n} is out of range [${min}, ${max}]`)
  return n
}

/** memcached -I: bytes, or with a k/m suffix ("1m", "512k"). */
export function parseSize (v: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(v.trim())
  if (m === null) throw new ConfigError(`-I: '${v}' is not a size (bytes, or with k/m suffix)`)
  const n = Number(m[1])
  const unit = m[2].toLowerCase()
  return unit === 'k' ? n * 1024 : unit === 'm' ? n * 1024 * 1024 : n
}

export function serverSettings (o: RawServerOptions): ServerSettings {
  const s = defaultSettings()
  // -1: any free port, as memcached gives (0 as well, where memcached means no TCP: README).
  if (o.port !== undefined) s.port = o.port.trim() === '-1' ? 0 : int('-p', o.port, 0, 65535)
  if (o.udpPort !== undefined) s.udpPort = o.udpPort.trim() === '-1' ? -1 : int('-U', o.udpPort, 0, 65535) // -1: memcached's ephemeral UDP port
  // memcached: a non-zero -U without -p is also the TCP port (-1: any free one).
  if (o.udpPort !== undefined && (o.port === undefined || o.portGiven === false) && s.udpPort !== 0) s.port = Math.max(0, s.udpPort)
  if (o.listen !== undefined) s.listen = o.listen.flatMap((l) => l.split(',')).map((l) => l.trim()).filter((l) => l.length > 0)
  if (o.memoryLimit !== undefined) s.memoryLimitMb = int('-m', o.memoryLimit, 1, 32767)
  if (o.connLimit !== undefined) s.maxConns = int('-c', o.connLimit, 1, 1 << 20)
  if (o.threads !== undefined) s.threads = int('-t', o.threads, 1, 1024)
  if (o.slabGrowthFactor !== undefined) {
    const f = Number(o.slabGrowthFactor)
    if (!(f > 1)) throw new ConfigError('-f: factor must be greater than 1')
    s.growthFactor = f
  }
  if (o.slabMinSize !== undefined) s.minChunkBytes = int('-n', o.slabMinSize, 1, 1 << 20)
  // memcached parses -o inside its option loop, so a bad suboption is reported before a
  // bad -I; its suboption checks that need every option run after the -I checks.
  const sub = applySuboptions(s, o.extended ?? [])
  if (o.maxItemSize !== undefined) {
    const size = parseSize(o.maxItemSize)
    // memcached's own limits and messages.
    if (size < 1024) throw new ConfigError('Item max size cannot be less than 1024 bytes.')
    if (size > 1024 * 1024 * 1024) throw new ConfigError('Cannot set item size limit higher than 1 gigabyte.')
    s.itemSizeMax = size
  }
  if (s.itemSizeMax > (s.memoryLimitMb * 1024 * 1024) / 2) {
    throw new ConfigError('Cannot set item size limit higher than 1/2 of memory max.')
  }
  checkSuboptions(s, sub)
  if (o.disableCas === true) s.useCas = false
  if (o.disableEvictions === true) s.evictions = false
  if (o.enableShutdown === true) s.shutdownCommand = true
  if (o.disableFlushAll === true) s.flushEnabled = false
  if (o.verbose !== undefined) s.verbosity = o.verbose
  if (o.listenBacklog !== undefined) s.tcpBacklog = int('-b', o.listenBacklog, 1, 1 << 20)
  if (o.maxReqsPerEvent !== undefined) s.maxReqsPerEvent = int('-R', o.maxReqsPerEvent, 1, 1 << 20)
  if (o.protocol !== undefined && !['auto', 'ascii', 'binary'].includes(o.protocol)) {
    throw new ConfigError(`-B: unknown protocol '${o.protocol}' (auto, ascii, binary)`)
  }
  if (o.protocol !== undefined) s.protocol = o.protocol as ServerSettings['protocol']
  // memcached's checks and messages for -S and -Y (auth-setup.ts explains the sessions).
  if (o.enableSasl === true) {
    if (s.protocol === 'ascii') throw new ConfigError('ERROR: You cannot allow the ASCII protocol while using SASL.')
    if (s.udpPort !== 0) throw new ConfigError('ERROR: Cannot enable UDP while using binary SASL authentication.')
    s.sasl = true
  }
  if (o.saslPwdb !== undefined) s.saslPwdb = o.saslPwdb
  if (o.authFile !== undefined) {
    if (s.protocol === 'binary') throw new ConfigError('ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.')
    if (s.udpPort !== 0) throw new ConfigError('Cannot use UDP with ascii authentication enabled (-U 0 to disable)')
    s.authFile = o.authFile
  }
  if (o.prefixDelimiter !== undefined) {
    // memcached -D: the first character is the delimiter, and detail collection starts on.
    if (o.prefixDelimiter.length === 0) throw new ConfigError('No delimiter specified')
    s.prefixDelimiter = String.fromCharCode(Buffer.from(o.prefixDelimiter, 'utf8')[0]) // a byte, as optarg[0]
    s.detailEnabled = true
  }
  if (o.disableWatch === true) s.watchEnabled = false
  if (o.memoryFile !== undefined) {
    if (o.memoryFile === '') throw new ConfigError('-e: a file path is required')
    s.memoryFile = o.memoryFile
  }
  if (o.unixSocket !== undefined) {
    if (o.unixSocket === '') throw new ConfigError('-s: a socket path is required')
    s.unixSocket = o.unixSocket
  }
  if (o.unixMask !== undefined) {
    // memcached reads -a with strtol(optarg, NULL, 8).
    if (!/^[0-7]+$/.test(o.unixMask.trim())) throw new ConfigError(`-a: '${o.unixMask}' is not an octal mask`)
    s.unixMask = parseInt(o.unixMask.trim(), 8) & 0o777
  }
  // -Z; memcached refuses it with -p 0 (its "no TCP"), which in memring means any free port.
  if (o.enableSsl === true) s.tls.enabled = true
  // memcached fails its bind with this message (and exits EX_OSERR, 71).
  if (!s.tls.enabled && s.listen.some((l) => l.startsWith('notls:'))) throw memcachedError("'notls' option is valid only when SSL is enabled", 71)
  if (o.connOutputLimit !== undefined) {
    const m = /^(\d+)([kKmM]?)$/.exec(o.connOutputLimit.trim())
    if (m === null) throw new ConfigError(`--conn-output-limit: '${o.connOutputLimit}' is not a size (bytes, or with k/m suffix)`)
    const n = parseSize(o.connOutputLimit)
    if (n < 1024 || n > 64 * 1024 * 1024) throw new ConfigError(`--conn-output-limit: ${n} is out of range [1024, 67108864]`)
    s.connOutputLimit = n
  }
  if (s.hashPowerInit > 30) s.hashPowerInit = 30
  return s
}
