/** Byte constants and word helpers shared by the codecs (no I/O, no allocation per call). */
export const CR = 13
export const LF = 10
export const SP = 32
/** memcached.h KEY_MAX_LENGTH */
export const KEY_MAX_LENGTH = 250
/** Longest buffered line without LF before we give up on a non-get command
 *  (memcached try_read_command_ascii: 2048). */
export const LINE_MAX = 2048
/** Cap for an unterminated get/gets line (memcached grows without bound; we stop here). */
export const GET_LINE_MAX = 8 * 1024 * 1024
/** memcached proto_text.c MAX_TOKENS: at most 23 tokens are split per pass. */
export const MAX_TOKENS = 24

/** Latin-1 bytes of a protocol word, for byte-wise comparison. Built once at load. */
export const word = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))

/** C isspace(): space, \t \n \v \f \r. */
export function isSpace (b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13)
}

/** buf[s, e) equals the bytes of w. */
export function same (buf: Uint8Array, s: number, e: number, w: Uint8Array): boolean {
  if (e - s !== w.length) return false
  for (let i = 0; i < w.length; i++) if (buf[s + i] !== w[i]) return false
  return true
}
