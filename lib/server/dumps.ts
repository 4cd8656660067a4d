/**
 * The key dumps that cache warmers and `memcached-tool` use:
 *
 *  - `stats cachedump <class> <limit>` (memcached items.c item_cachedump): the COLD LRU
 *    of a class, newest first, one `ITEM <key> [<bytes> b; <exptime> s]` line per item
 *    (exptime absolute, 0 for none), at most `limit` items (0 = all) and at most 2 MiB,
 *    then `END`. Keys print as C strings (cut at a NUL); items with base64 (binary) keys
 *    are skipped. Flushed or expired items still listed, as memcached lists them until they
 *    are reclaimed. Synchronous, as in memcached: the 2 MiB cap bounds the work.
 *
 *  - `lru_crawler metadump all|hash|<class>[,<class>...]` (memcached crawler.c): every live
 *    item (not expired, not flushed) as `key=<uri-encoded> exp=<abs|-1> la=<abs> cas=<n>
 *    fetch=<yes|no> cls=<class> size=<bytes>\n`, then `END\r\n`. A background walk over the
 *    slab pages (SlabStore.listLivePages): one page (1 MiB of items) per event-loop turn, and
 *    none while the client's socket is full, so neither a big cache nor a slow reader
 *    blocks the loop or grows memory. Items that stay live throughout are all listed once;
 *    items written during the walk may or may not be, as with memcached's crawler.
 *
 * Classes and sizes are memcached's for the same -n/-f/-I (mc-item.ts). Order differs from
 * memcached (README, documented differences): memcached walks its lists from the tail and
 * interleaves classes; memring walks pages. Tools read these dumps as sets of keys.
 */
import { SlabStore } from '../store/slab-store.js'
import type { ConnControl, ServerContext } from './context.js'
import { mcClassFor, mcItemSize } from './mc-item.js'
import { uriEncode } from './watchers.js'

/** memcached item_cachedump's buffer: lines stop before this much. */
const CACHEDUMP_MAX = 2 * 1024 * 1024
/** memcached MAX_NUMBER_OF_SLAB_CLASSES (63 classes + 1). */
export const MC_MAX_CLASSES = 64
const KEY_SCRATCH = Buffer.allocUnsafe(256)

export function cachedump (store: SlabStore, cls: number, limit: number): Buffer {
  const parts: string[] = []
  let bytes = 0
  let shown = 0
  const started = store.processStarted
  outer: for (let c = 1; c <= store.slabs.largest; c++) {
    for (let h = store.lruHead(c, SlabStore.SEG_COLD); h !== 0; h = store.lruNext(h)) {
      if (limit !== 0 && shown >= limit) break outer
      if (store.keyBinary(h)) continue
      const nk = store.copyKey(h, KEY_SCRATCH, 0)
      if (mcClassFor(store, mcItemSize(store, h, nk)) !== cls) continue
      const nul = KEY_SCRATCH.indexOf(0)
      const key = KEY_SCRATCH.toString('latin1', 0, nul !== -1 && nul < nk ? nul : nk)
      const exp = store.exptime(h)
      const line = `ITEM ${key} [${store.nbytes(h)} b; ${exp === 0 ? 0 : exp + started} s]\r\n`
      if (bytes + line.length + 6 > CACHEDUMP_MAX) break outer
      parts.push(line)
      bytes += line.length
      shown++
    }
  }
  parts.push('END\r\n')
  return Buffer.from(parts.join(''), 'latin1')
}

/** Parses `all`, `hash` or a comma list of class ids; null when a class id is invalid. */
export function metadumpClasses (arg: string): Set<number> | 'all' | null {
  if (arg === 'all' || arg === 'hash') return 'all'
  const out = new Set<number>()
  for (const part of arg.split(',')) {
    if (!/^\d+$/.test(part)) return null
    const n = Number(part)
    if (n < 1 || n >= MC_MAX_CLASSES) return null
    out.add(n)
  }
  return out
}

export class MetaDump {
  private page = 1
  private handles = new Uint32Array(8192)
  private ages = new Uint16Array(8192)
  private done = false
  private timer: NodeJS.Immediate | null = null

  /** `onEnd` runs once, after END is queued (or when the connection went away). */
  constructor (private readonly ctx: ServerContext, private readonly conn: ConnControl,
    private readonly classes: Set<number> | 'all', private readonly onEnd: () => void) {}

  start (): void { this.schedule() }

  /** The socket drained (the session's resume()): go on. */
  resume (): void { if (!this.done && this.timer === null) this.schedule() }

  /** The connection closed: stop without writing. */
  stop (): void {
    if (this.timer !== null) clearImmediate(this.timer)
    this.timer = null
    this.done = true
  }

  private schedule (): void {
    this.timer = setImmediate(() => { this.timer = null; this.step() })
  }

  private step (): void {
    if (this.done) return
    const store = this.ctx.store
    const end = Math.min(this.page + 1, store.pageCount)
    let n = store.listLivePages(this.page, end, this.handles, this.ages, 0)
    while (n === this.handles.length) { // a page of smaller chunks than we had room for
      this.handles = new Uint32Array(2 * n)
      this.ages = new Uint16Array(2 * n)
      n = store.listLivePages(this.page, end, this.handles, this.ages, 0)
    }
    const started = store.processStarted
    let text = ''
    for (let i = 0; i < n; i++) {
      const h = this.handles[i]
      if (store.isDead(h)) continue
      const exp = store.exptime(h)
      const nk = store.copyKey(h, KEY_SCRATCH, 0)
      const size = mcItemSize(store, h, nk)
      const cls = mcClassFor(store, size)
      if (this.classes !== 'all' && !this.classes.has(cls)) continue
      text += `key=${uriEncode(KEY_SCRATCH, 0, nk)} exp=${exp === 0 ? -1 : exp + started} la=${store.lastAccess(h) + started} cas=${store.cas(h)} fetch=${store.fetched(h) ? 'yes' : 'no'} cls=${cls} size=${size}\n`
    }
    this.page = end
    const out = this.conn.out
    if (text.length > 0) out.bytes(Buffer.from(text, 'latin1'))
    if (this.page >= store.pageCount) {
      out.bytes(END)
      this.conn.flush()
      this.done = true
      this.onEnd()
      return
    }
    this.conn.flush()
    // A full socket: wait for its drain (resume()); otherwise the next pages next turn.
    if (this.conn.congested?.() !== true) this.schedule()
  }
}

const END = Buffer.from('END\r\n')
