// lib/proxy/hot-stats.ts
/**
 * Hot keys in `stats proxy` (counters, hotStatsRows) and the `stats hotkeys` group (the
 * keys themselves, hotKeysStatsLines). Both are built when asked, off the request path.
 *
 *   STAT hot_key_threshold 1000
 *   STAT hot_keys 1
 *   STAT hotkey:user:42 rate 2310 reads 9123 cached 1 copies 127.0.0.1:40001=3041,127.0.0.1:40002=3040
 *   END
 *
 * A key's bytes are printed as they are, except bytes outside 0x21-0x7e (binary-protocol
 * keys may hold any), written %XX so a line stays one line.
 */
import type { ProxyCore } from './core.js'
import type { HotKey } from './hot-keys.js'

/** `stats proxy` rows (hot keys off: the threshold 0 and zeros, so dashboards see every name). */
export function hotStatsRows (core: ProxyCore): [string, string | number][] {
  const hot = core.hot
  const cache = hot?.cache ?? null
  return [
    ['hot_key_threshold', hot?.keys.threshold ?? 0],
    ['hot_keys', hot?.keys.size ?? 0],
    ['hot_keys_admitted', hot?.keys.admitted ?? 0],
    ['hot_key_reads', hot?.reads ?? 0],
    ['hot_key_cache', cache === null ? 'off' : cache.ttlMs],
    ['hot_key_cache_hits', cache?.hits ?? 0],
    ['hot_key_cache_misses', cache?.misses ?? 0],
    ['hot_key_cache_fills', cache?.fills ?? 0],
    ['hot_key_cache_invalidations', cache?.invalidations ?? 0],
    ['hot_key_cache_evictions', cache?.evictions ?? 0],
    ['hot_key_cache_bytes', cache?.bytes ?? 0],
  ]
}

/** `stats hotkeys`: the threshold, the count, then one line per hot key, hottest first. */
export function hotKeysStatsLines (core: ProxyCore): Buffer {
  const hot = core.hot
  let out = `STAT hot_key_threshold ${hot?.keys.threshold ?? 0}\r\nSTAT hot_keys ${hot?.keys.size ?? 0}\r\n`
  const now = performance.now()
  if (hot !== null) {
    for (const hk of hot.keys.list()) {
      const cached = hk.value !== null && now < hk.expiresAt ? 1 : 0
      out += `STAT hotkey:${printable(hk.key)} rate ${Math.round(hk.rate)} reads ${hk.total} cached ${cached} copies ${copies(hk)}\r\n`
    }
  }
  return Buffer.from(out + 'END\r\n', 'latin1')
}

function copies (hk: HotKey): string {
  if (hk.copies.size === 0) return '-'
  return [...hk.copies].map(([a, n]) => `${a}=${n}`).join(',')
}

function printable (key: Buffer): string {
  let s = ''
  for (const c of key) s += c >= 0x21 && c <= 0x7e && c !== 0x25 ? String.fromCharCode(c) : `%${c.toString(16).padStart(2, '0').toUpperCase()}`
  return s
}
