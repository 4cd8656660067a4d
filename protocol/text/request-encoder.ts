/**
 * Client side of the text protocol: requests as bytes (protocol.txt "Commands").
 * Pure: no sockets, no allocation beyond the one Buffer each request becomes.
 * Keys are bytes (the caller encodes strings once); they are checked with checkKey()
 * by the caller before encoding, because a bad key would desynchronise the stream.
 */
import { KEY_MAX_LENGTH } from '../bytes.js'

export type RetrievalCommand = 'get' | 'gets' | 'gat' | 'gats'
export type StorageCommand = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas'

const CRLF = Buffer.from('\r\n', 'latin1')
const NOREPLY = ' noreply'

/**
 * Why `key` cannot be sent, or null if it can. protocol.txt "Keys": at most 250
 * bytes, no control characters and no whitespace (bytes <= 0x20 and 0x7f).
 */
export function checkKey (key: Uint8Array): string | null {
  if (key.length === 0) return 'key is empty'
  if (key.length > KEY_MAX_LENGTH) return `key is ${key.length} bytes, more than ${KEY_MAX_LENGTH}`
  for (let i = 0; i < key.length; i++) {
    const b = key[i]
    if (b <= 0x20 || b === 0x7f) return `key has a control or space byte 0x${b.toString(16).padStart(2, '0')} at ${i}`
  }
  return null
}

function assemble (head: string, key: Uint8Array | null, tail: string, value: Uint8Array | null): Buffer {
  const vlen = value === null ? 0 : value.length + 2
  const buf = Buffer.allocUnsafe(head.length + (key === null ? 0 : key.length) + tail.length + 2 + vlen)
  let off = buf.write(head, 0, 'latin1')
  if (key !== null) { buf.set(key, off); off += key.length }
  off += buf.write(tail, off, 'latin1')
  buf[off++] = 13
  buf[off++] = 10
  if (value !== null) {
    buf.set(value, off)
    off += value.length
    buf[off++] = 13
    buf[off++] = 10
  }
  return buf
}

/**
 * get|gets <key>*  or  gat|gats <exptime> <key>*  (protocol.txt "Retrieval command",
 * "Touch"/"Get And Touch"). keys must be non-empty.
 */
export function encodeRetrieval (cmd: RetrievalCommand, keys: readonly Uint8Array[], exptimeSec = 0): Buffer {
  const head = cmd === 'gat' || cmd === 'gats' ? `${cmd} ${exptimeSec}` : cmd
  let size = head.length + 2
  for (const k of keys) size += 1 + k.length
  const buf = Buffer.allocUnsafe(size)
  let off = buf.write(head, 0, 'latin1')
  for (const k of keys) {
    buf[off++] = 32
    buf.set(k, off)
    off += k.length
  }
  buf[off++] = 13
  buf[off] = 10
  return buf
}

/**
 * <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]\r\n<data>\r\n
 * (protocol.txt "Storage commands"). flags is unsigned 32-bit; cas only for "cas".
 */
export function encodeStorage (cmd: StorageCommand, key: Uint8Array, flags: number, exptimeSec: number,
  value: Uint8Array, cas: bigint | null = null, noreply = false): Buffer {
  return assemble(`${cmd} `, key, storageTail(flags, exptimeSec, value.length, cas, noreply), value)
}

/** The header line alone, for large values written without a copy: header, value, CRLF. */
export function encodeStorageHeader (cmd: StorageCommand, key: Uint8Array, flags: number, exptimeSec: number,
  valueLength: number, cas: bigint | null = null, noreply = false): Buffer {
  return assemble(`${cmd} `, key, storageTail(flags, exptimeSec, valueLength, cas, noreply), null)
}

export { CRLF }

function storageTail (flags: number, exptimeSec: number, len: number, cas: bigint | null, noreply: boolean): string {
  return ` ${flags >>> 0} ${exptimeSec | 0} ${len}${cas === null ? '' : ` ${cas}`}${noreply ? NOREPLY : ''}`
}

/** delete <key> [noreply] */
export function encodeDelete (key: Uint8Array, noreply = false): Buffer {
  return assemble('delete ', key, noreply ? NOREPLY : '', null)
}

/** incr|decr <key> <value> [noreply]; delta is an unsigned 64-bit integer. */
export function encodeArith (cmd: 'incr' | 'decr', key: Uint8Array, delta: bigint, noreply = false): Buffer {
  return assemble(`${cmd} `, key, ` ${delta}${noreply ? NOREPLY : ''}`, null)
}

/** touch <key> <exptime> [noreply] */
export function encodeTouch (key: Uint8Array, exptimeSec: number, noreply = false): Buffer {
  return assemble('touch ', key, ` ${exptimeSec | 0}${noreply ? NOREPLY : ''}`, null)
}

/** flush_all [delay] [noreply] */
export function encodeFlushAll (delaySec = 0, noreply = false): Buffer {
  return assemble(delaySec > 0 ? `flush_all ${delaySec | 0}` : 'flush_all', null, noreply ? NOREPLY : '', null)
}

/** version */
export function encodeVersion (): Buffer {
  return Buffer.from('version\r\n', 'latin1')
}

/** stats [<args>] — args are sent as given (e.g. "slabs", "items", "settings"). */
export function encodeStats (args = ''): Buffer {
  if (/[\r\n]/.test(args)) throw new RangeError('stats arguments must not contain CR or LF')
  return Buffer.from(args === '' ? 'stats\r\n' : `stats ${args}\r\n`, 'latin1')
}

export type MetaCommandName = 'mg' | 'ms' | 'md' | 'ma' | 'mn'

/**
 * Why a meta flag token cannot be sent, or null (protocol.txt "Meta Get" etc.: a
 * single-character code, optionally followed by a token, ended by a space). The q
 * (quiet) flag is refused: a command that may get no reply would break the FIFO of a
 * pipelined connection.
 */
export function checkMetaFlag (flag: string): string | null {
  if (flag.length === 0) return 'empty meta flag'
  const c = flag.charCodeAt(0)
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return `meta flag must start with a letter: ${JSON.stringify(flag)}`
  if (flag[0] === 'q') return 'the q (quiet) flag is not supported by a pipelined connection'
  for (let i = 1; i < flag.length; i++) {
    const b = flag.charCodeAt(i)
    if (b <= 0x20 || b >= 0x7f) return `meta flag token has a space, control or non-ASCII character: ${JSON.stringify(flag)}`
  }
  return null
}

/**
 * mg|md|ma <key> <flags>*, ms <key> <datalen> <flags>* then the data block, or mn
 * (protocol.txt "Meta Get", "Meta Set", "Meta Delete", "Meta Arithmetic", "Meta No-Op").
 * Flags are checked with checkMetaFlag() by the caller.
 */
export function encodeMeta (cmd: MetaCommandName, key: Uint8Array | null, flags: readonly string[], value: Uint8Array | null = null): Buffer {
  if (cmd === 'mn') return Buffer.from('mn\r\n', 'latin1')
  let tail = cmd === 'ms' ? ` ${value === null ? 0 : value.length}` : ''
  for (const f of flags) tail += ' ' + f
  return assemble(`${cmd} `, key, tail, cmd === 'ms' ? (value ?? Buffer.alloc(0)) : null)
}
