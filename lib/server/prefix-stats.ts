/**
 * `stats detail on|off|dump`: per key prefix counts of get, hit, set and delete, as
 * memcached's stats_prefix.c keeps them (memcached -D sets the delimiter, default ':').
 *
 * Behaviour matched to memcached 1.6.18 (pinned by lib/server/test/stats-detail.test.ts):
 *  - the prefix is the key up to the first delimiter; a key without one (or with a NUL
 *    before it: memcached reads a C string) is not counted;
 *  - prefixes live in 256 buckets chosen by murmur3 (seed 0) of the prefix, newest first in
 *    a bucket; the dump walks buckets in order, so lines come out in memcached's order;
 *  - a bucket entry matches when its first `len` bytes equal the key's prefix (memcached
 *    compares with strncmp over the new prefix's length, so "ab" also answers for "a" when
 *    both hash to one bucket);
 *  - at most 65536 prefixes; later new prefixes are not counted;
 *  - `stats reset` clears everything. Only classic text get/gets/gat/gats, storage
 *    commands and delete, and binary get/touch/gat, storage and delete count (not meta,
 *    not incr/decr/touch in text), as in memcached.
 *
 * Off the hot path: callers test `enabled` (one field read) before calling record*().
 */
import { hashKey } from '../store/hash.js'

const BUCKETS = 256
const MAX_PREFIXES = 1 << 16

interface Entry {
  prefix: Buffer
  gets: number
  hits: number
  sets: number
  dels: number
  next: Entry | null
}

export class PrefixStats {
  enabled: boolean
  private readonly buckets: Array<Entry | null> = new Array<Entry | null>(BUCKETS).fill(null)
  private count = 0

  /** `delimiter` is one byte (memcached -D keeps the first character). */
  constructor (readonly delimiter: number, enabled = false) { this.enabled = enabled }

  recordGet (key: Uint8Array, s: number, e: number, hit: boolean): void {
    const p = this.find(key, s, e)
    if (p === null) return
    p.gets++
    if (hit) p.hits++
  }

  recordSet (key: Uint8Array, s: number, e: number): void {
    const p = this.find(key, s, e)
    if (p !== null) p.sets++
  }

  recordDelete (key: Uint8Array, s: number, e: number): void {
    const p = this.find(key, s, e)
    if (p !== null) p.dels++
  }

  clear (): void {
    this.buckets.fill(null)
    this.count = 0
  }

  /** The dump: one `PREFIX <p> get <n> hit <n> set <n> del <n>` line per prefix, then END. */
  dump (): string {
    let out = ''
    for (let i = 0; i < BUCKETS; i++) {
      for (let p = this.buckets[i]; p !== null; p = p.next) {
        out += `PREFIX ${p.prefix.toString('latin1')} get ${p.gets} hit ${p.hits} set ${p.sets} del ${p.dels}\r\n`
      }
    }
    return out + 'END\r\n'
  }

  private find (key: Uint8Array, s: number, e: number): Entry | null {
    const d = this.delimiter
    let i = s
    while (i < e && key[i] !== d) {
      if (key[i] === 0) return null
      i++
    }
    if (i === e) return null
    const len = i - s
    const b = hashKey(key, s, i, 0) & (BUCKETS - 1)
    for (let p = this.buckets[b]; p !== null; p = p.next) {
      if (p.prefix.length >= len && startsWith(p.prefix, key, s, len)) return p
    }
    if (this.count >= MAX_PREFIXES) return null
    const entry: Entry = { prefix: Buffer.from(key.subarray(s, i)), gets: 0, hits: 0, sets: 0, dels: 0, next: this.buckets[b] }
    this.buckets[b] = entry
    this.count++
    return entry
  }
}

function startsWith (prefix: Buffer, key: Uint8Array, s: number, len: number): boolean {
  for (let j = 0; j < len; j++) if (prefix[j] !== key[s + j]) return false
  return true
}
