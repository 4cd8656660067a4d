/**
 * memcached's `-o` suboptions (memcached 1.6.18 main(): getsubopt over the comma list,
 * then the checks that need every option). Values are read as memcached reads them: atoi
 * (a leading number, the rest ignored, 0 when there is none), atof (strtod, the rest
 * ignored) or safe_strtoul (the whole value must be a number). A bad value fails with
 * memcached's message alone on stderr and its exit code: 1 inside the loop, EX_USAGE (64)
 * for the checks after it.
 *
 * Applied: idle_timeout, hashpower, lru_crawler/no_lru_crawler, lru_crawler_sleep,
 * slab_reassign/no_slab_reassign, slab_automove, lru_maintainer/no_lru_maintainer (LRU mode
 * segmented/flat; `lru mode|temp_ttl` and automove need the maintainer), hot_lru_pct and
 * warm_lru_pct (the store's HOT/WARM shares), watcher_logbuf_size (each watcher's buffer),
 * no_modern (the parts above it turns off), meta_e/no_meta_e (memring only: meta E and md x),
 * slab_automove_ratio and slab_automove_window (the page mover's decision), slab_chunk_max
 * (items above it are chained; no_chunked_items and no_modern set it to a page, -I above
 * 1m back to half a page unless it was given), temporary_ttl (the store's TEMP LRU, as
 * `lru temp_ttl` sets it).
 * Validated and shown in `stats settings` only, as `lru tune`'s factors are:
 * hot_max_factor, warm_max_factor, lru_crawler_tocrawl, tail_repair_time,
 * worker_logbuf_size.
 * Accepted and ignored: IGNORED below (README "Command line" says why for each).
 */
import { atof, lastDoubleNegative } from '../../protocol/float.js'
import { parseU32 } from '../../protocol/numbers.js'
import type { ServerSettings } from '../server/settings.js'
import { EX_USAGE, memcachedError } from './config-error.js'

const IGNORED = new Set([
  'maxconns_fast', 'no_maxconns_fast', 'no_hashexpand', 'track_sizes',
  'no_inline_ascii_resp', 'inline_ascii_resp', 'modern', 'read_buf_mem_limit',
  'drop_privileges', 'no_drop_privileges', 'resp_obj_mem_limit', 'slab_automove_freeratio',
])

/** memcached's slab_page_size (memring's pages are always 1 MiB). */
const SLAB_PAGE_SIZE = 1024 * 1024
/** Below this memring refuses slab_chunk_max (lib/store/slabs.ts CHUNK_MAX_MIN). */
const SLAB_CHUNK_MAX_MIN = 1024

/** What the checks after the option loop need. */
export interface SuboptionState {
  /** worker_logbuf_size's value: memcached 1.6.18 falls through into slab_sizes with it. */
  slabSizes: string | null
  /** slab_chunk_max was given (memcached slab_chunk_size_changed): no_modern and -I > 1m leave it alone. */
  slabChunkGiven: boolean
}

/** C atoi: (int) strtol(v, NULL, 10); strtol saturates at the 64-bit long range. */
export function atoi (v: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]*)/.exec(v)
  if (m === null || m[2] === '') return 0
  let n = BigInt(m[2])
  if (m[1] === '-') n = -n
  const max = (1n << 63n) - 1n
  if (n > max) n = max
  if (n < -max - 1n) n = -max - 1n
  return Number(BigInt.asIntN(32, n))
}

/** memcached safe_strtoul: the uint32, or -1 when refused. */
function strtoul (v: string): number {
  const b = Buffer.from(v)
  return parseU32(b, 0, b.length)
}

/** memcached safe_strtol: the int32, or null when the whole value is not a number. */
function strtol (v: string): number | null {
  if (!/^\s*[+-]?\d+\s*$/.test(v)) return null
  const n = Number(v.trim())
  return n >= -0x80000000 && n <= 0x7fffffff ? n : null
}

/** atof, and whether a NaN it returned was "-nan" (memcached prints the sign). */
function atofNeg (v: string): [number, boolean] {
  const b = Buffer.from(v)
  const x = atof(b, 0, b.length)
  return [x, Number.isNaN(x) && lastDoubleNegative()]
}

/** Runs memcached's option-loop part of every `-o` group, in order, on s. */
export function applySuboptions (s: ServerSettings, groups: string[]): SuboptionState {
  const st: SuboptionState = { slabSizes: null, slabChunkGiven: false }
  for (const group of groups) {
    for (const item of group.split(',')) {
      const sub = item.trim()
      if (sub === '') continue
      const eq = sub.indexOf('=')
      const key = eq === -1 ? sub : sub.slice(0, eq)
      const val = eq === -1 ? null : sub.slice(eq + 1)
      apply(s, st, key, val, sub)
    }
  }
  return st
}

function apply (s: ServerSettings, st: SuboptionState, key: string, val: string | null, sub: string): void {
  const need = (missing: string): string => {
    if (val === null) throw memcachedError(missing)
    return val
  }
  /** memcached's ssl_* integers: safe_strtol, then (for a mode or version) its range check. */
  const sslInt = (name: string, max: number | null): number => {
    const n = strtol(need(`Missing ${name} argument`))
    if (n === null) throw memcachedError(`could not parse argument to ${name}`)
    if (max !== null && (n < 0 || n > max)) throw memcachedError(`Invalid ${name}. Use help to see valid options.`)
    return n
  }
  switch (key) {
    case 'idle_timeout':
      s.idleTimeoutSec = atoi(need('Missing numeric argument for idle_timeout'))
      return
    case 'hashpower': {
      const n = atoi(need('Missing numeric argument for hashpower'))
      if (n < 12) throw memcachedError(`Initial hashtable multiplier of ${n} is too low`)
      if (n > 32) throw memcachedError(`Initial hashtable multiplier of ${n} is too high\nChoose a value based on "STAT hash_power_level" from a running instance`)
      s.hashPowerInit = n
      return
    }
    case 'lru_crawler': s.lruCrawler = true; return
    case 'no_lru_crawler': s.lruCrawler = false; return
    case 'lru_crawler_sleep': {
      const n = atoi(need('Missing lru_crawler_sleep value'))
      if (n > 1000000 || n < 0) throw memcachedError('LRU crawler sleep must be between 0 and 1 second')
      s.lruCrawlerSleepUs = n
      return
    }
    case 'lru_crawler_tocrawl': {
      const n = strtoul(need('Missing lru_crawler_tocrawl value'))
      if (n < 0) throw memcachedError('lru_crawler_tocrawl takes a numeric 32bit value')
      s.lruCrawlerTocrawl = n
      return
    }
    case 'tail_repair_time': {
      const n = atoi(need('Missing numeric argument for tail_repair_time'))
      if (n < 10) throw memcachedError('Cannot set tail_repair_time to less than 10 seconds')
      s.tailRepairTime = n
      return
    }
    case 'slab_reassign': s.slabReassign = true; return
    case 'no_slab_reassign': s.slabReassign = false; return
    case 'slab_automove': {
      if (val === null) { s.slabAutomove = 1; return }
      const n = atoi(val)
      if (n < 0 || n > 2) throw memcachedError('slab_automove must be between 0 and 2')
      s.slabAutomove = n
      return
    }
    case 'no_slab_automove': s.slabAutomove = 0; return
    case 'slab_chunk_max': {
      // memcached: safe_strtol. It goes on after the parse error and dies of a division by
      // zero (SIGFPE); memring exits 1 with the message.
      const v = need('Missing slab_chunk_max argument')
      if (!/^[ \t\n\v\f\r]*[+-]?[0-9]+[ \t\n\v\f\r]*$/.test(v)) throw memcachedError('could not parse argument to slab_chunk_max')
      s.slabChunkMax = Number(v)
      st.slabChunkGiven = true
      return
    }
    case 'slab_automove_ratio': {
      const [x, negNan] = atofNeg(need('Missing slab_automove_ratio argument'))
      if (x <= 0 || x > 1) throw memcachedError('slab_automove_ratio must be > 0 and < 1')
      s.slabAutomoveRatio = x
      s.slabAutomoveRatioNegNan = negNan
      return
    }
    case 'slab_automove_window': {
      const n = atoi(need('Missing slab_automove_window argument'))
      if (n < 3) throw memcachedError('slab_automove_window must be > 2')
      s.slabAutomoveWindow = n
      return
    }
    case 'lru_maintainer': s.lruMaintainer = true; s.lruSegmented = true; return
    case 'no_lru_maintainer': s.lruMaintainer = false; s.lruSegmented = false; return
    case 'hot_lru_pct': {
      // memcached's message says "> 1" but 1 is accepted (the test is < 1).
      const n = atoi(need('Missing hot_lru_pct argument'))
      if (n < 1 || n >= 80) throw memcachedError('hot_lru_pct must be > 1 and < 80')
      s.hotLruPct = n
      return
    }
    case 'warm_lru_pct': {
      const n = atoi(need('Missing warm_lru_pct argument'))
      if (n < 1 || n >= 80) throw memcachedError('warm_lru_pct must be > 1 and < 80')
      s.warmLruPct = n
      return
    }
    case 'hot_max_factor': {
      const [x, negNan] = atofNeg(need('Missing hot_max_factor argument'))
      if (x <= 0) throw memcachedError('hot_max_factor must be > 0') // NaN passes, as in C
      s.hotMaxFactor = x
      s.maxFactorNegNan = [negNan, s.maxFactorNegNan[1]]
      return
    }
    case 'warm_max_factor': {
      const [x, negNan] = atofNeg(need('Missing warm_max_factor argument'))
      if (x <= 0) throw memcachedError('warm_max_factor must be > 0')
      s.warmMaxFactor = x
      s.maxFactorNegNan = [s.maxFactorNegNan[0], negNan]
      return
    }
    case 'temporary_ttl':
      // Any int, kept as uint32 (-1 shows as 4294967295); needs the maintainer (checked later).
      s.tempLru = true
      s.temporaryTtl = atoi(need('Missing temporary_ttl argument')) >>> 0
      return
    case 'watcher_logbuf_size': {
      const n = strtoul(need('Missing watcher_logbuf_size argument'))
      if (n < 0) throw memcachedError('could not parse argument to watcher_logbuf_size')
      s.watcherLogbufSize = (n * 1024) >>> 0 // kilobytes, in memcached's unsigned int
      return
    }
    case 'worker_logbuf_size': {
      const v = need('Missing worker_logbuf_size argument')
      const n = strtoul(v)
      if (n < 0) throw memcachedError('could not parse argument to worker_logbuf_size')
      s.workerLogbufSize = (n * 1024) >>> 0
      // memcached 1.6.18 has no `break` here: the value also becomes its slab_sizes list,
      // checked after the loop. memring keeps only the check (see README).
      st.slabSizes = v
      return
    }
    case 'hash_algorithm': {
      // memcached's internal key hash. memring's hash index always uses MurmurHash3 (it
      // never reaches the wire), so the choice is checked as memcached checks it and
      // otherwise has no effect; `stats settings` keeps saying murmur3 (README).
      const v = need('Missing hash_algorithm argument')
      if (v !== 'jenkins' && v !== 'murmur3' && v !== 'xxh3') throw memcachedError('Unknown hash_algorithm option (jenkins, murmur3, xxh3)')
      return
    }
    // TLS (memcached 1.6 built with TLS; lib/server/tls.ts reads the files at start-up).
    case 'ssl_chain_cert': s.tls.chainCert = need('Missing ssl_chain_cert argument'); return
    case 'ssl_key': s.tls.key = need('Missing ssl_key argument'); return
    case 'ssl_ca_cert': s.tls.caCert = need('Missing ssl_ca_cert argument'); return
    case 'ssl_ciphers': s.tls.ciphers = need('Missing ssl_ciphers argument'); return
    case 'ssl_keyformat': s.tls.keyFormat = sslInt('ssl_keyformat', null); return
    case 'ssl_verify_mode': s.tls.verifyMode = sslInt('ssl_verify_mode', 3); return
    case 'ssl_min_version': s.tls.minVersion = sslInt('ssl_min_version', 3); return
    case 'ssl_wbuf_size': {
      const n = strtoul(need('Missing ssl_wbuf_size argument'))
      if (n < 0) throw memcachedError('could not parse argument to ssl_wbuf_size')
      s.tls.wbufSize = (n * 1024) >>> 0
      return
    }
    case 'ssl_session_cache': s.tls.sessionCache = true; return
    case 'ssl_kernel_tls': s.tls.kernelTls = true; return
    case 'meta_e':
      // Not a memcached 1.6.18 option (it refuses it): opts into 1.6.27's meta E and md x.
      s.metaE = true
      return
    case 'no_meta_e': s.metaE = false; return
    case 'no_chunked_items':
      // Items up to a whole page in one chunk (whatever slab_chunk_max said before it).
      s.slabChunkMax = SLAB_PAGE_SIZE
      return
    case 'no_modern':
      // What no_modern turns off that memring has (memcached also turns off maxconns_fast
      // and picks the jenkins hash). Chunked items too, unless slab_chunk_max was given:
      // an item up to a page takes one chunk of the largest class (memcached's t/lru.t
      // counts the evictions that gives).
      if (!st.slabChunkGiven) s.slabChunkMax = SLAB_PAGE_SIZE
      s.slabReassign = false
      s.slabAutomove = 0
      s.lruSegmented = false
      s.lruCrawler = false
      s.lruMaintainer = false
      return
    default:
      if (IGNORED.has(key)) return
      throw memcachedError(`Illegal suboption "${sub}"`)
  }
}

/** memcached's checks after the option loop, in its order (each exits EX_USAGE). */
export function checkSuboptions (s: ServerSettings, st: SuboptionState): void {
  // -I above 1m: back to half a page unless slab_chunk_max was given (even after no_modern).
  if (s.itemSizeMax > SLAB_PAGE_SIZE && !st.slabChunkGiven) s.slabChunkMax = SLAB_PAGE_SIZE / 2
  const cm = s.slabChunkMax
  if (cm > s.itemSizeMax) throw memcachedError(`slab_chunk_max (bytes: ${cm}) cannot be larger than -I (item_size_max ${s.itemSizeMax})`, EX_USAGE)
  if (s.itemSizeMax % cm !== 0) throw memcachedError(`-I (item_size_max: ${s.itemSizeMax}) must be evenly divisible by slab_chunk_max (bytes: ${cm})`, EX_USAGE)
  if (SLAB_PAGE_SIZE % cm !== 0) throw memcachedError(`slab_chunk_max (bytes: ${cm}) must divide evenly into ${SLAB_PAGE_SIZE} (slab_page_size)`, EX_USAGE)
  // memring only: memcached starts with a smaller value but then cannot store items.
  if (cm < SLAB_CHUNK_MAX_MIN) throw memcachedError(`slab_chunk_max (bytes: ${cm}) must be at least ${SLAB_CHUNK_MAX_MIN} in memring`, EX_USAGE)
  if (st.slabSizes !== null) {
    // _parse_slab_sizes over the one number worker_logbuf_size let through.
    const size = strtoul(st.slabSizes)
    if (size < s.minChunkBytes || size > s.slabChunkMax) throw memcachedError(`slab size ${size} is out of valid range`, EX_USAGE)
  }
  if (s.hotLruPct + s.warmLruPct > 80) throw memcachedError('hot_lru_pct + warm_lru_pct cannot be more than 80% combined', EX_USAGE)
  if (s.tempLru && !s.lruMaintainer) throw memcachedError('temporary_ttl requires lru_maintainer to be enabled', EX_USAGE)
}
