/**
 * memcached -e (restartable cache): on a graceful stop the items are written to the memory
 * file, and the next start with the same -e and the same memory settings serves them
 * again. memcached keeps item memory in an mmap of the file and fixes pointers up at
 * start; a Node heap cannot be mapped, so memring writes the live items out at the stop
 * and reads them back at the start. What the user sees is memcached's:
 *
 * - the data survives `kill -USR1` / `shutdown graceful`, not SIGTERM, SIGKILL or a crash;
 * - `<file>.meta` holds the settings the data was written under; it is read, then
 *   deleted, at start, so a later crash can never bring back stale data;
 * - no `.meta`: "[restart] no metadata save file, starting with a clean cache";
 *   a `.meta` that does not start with a tag line: "[restart] Failed to read a tag from
 *   metadata file", and the start fails (memcached aborts); settings that differ (-m,
 *   -I, -n, -f, -C) or a data file that does not match: "[restart] failed to validate
 *   metadata, starting with a clean cache";
 * - items that expired while the server was down are gone; CAS values, flags, TTLs,
 *   meta bits and the hash table's size carry over; LRU order carries over (items are
 *   written coldest first and read back in that order).
 *
 * Data file: "MRMEMF1\n", then one record per item: cas u64, flags u32, absolute exptime
 * u32 (0 = never), meta bits u8, nkey u8, nbytes u32, key, value (big-endian). Written in
 * ~1 MiB slices, so the save needs no more than that beyond the store itself.
 */
import fs from 'node:fs'
import { SlabStore } from './slab-store.js'
import { StoreResult } from './store.js'

const MAGIC = Buffer.from('MRMEMF1\n')
const TAG = 'Tmemring'
const REC_FIXED = 8 + 4 + 4 + 1 + 1 + 4
const SLICE = 1 << 20

/** The settings an image is only valid under (memcached's _mc_meta_save_cb checks the same). */
export interface MemoryFileSettings {
  maxbytes: number
  itemSizeMax: number
  chunkSize: number
  growthFactor: number
  useCas: boolean
}

/** What a valid .meta says (returned by readMemoryMeta). */
export interface MemoryMeta {
  hashPower: number
  items: number
  dataBytes: number
}

export class MemoryFileError extends Error {
  code = 'MEMRING_ERR_MEMORY_FILE'
}

/**
 * Reads and deletes `<path>.meta` before the store is built. Returns the image's
 * description when it may be loaded, null for a clean start (with memcached's message on
 * `warn`); throws MemoryFileError when the start must fail.
 */
export function readMemoryMeta (path: string, want: MemoryFileSettings, warn: (line: string) => void): MemoryMeta | null {
  const metaPath = `${path}.meta`
  let text: string
  try {
    text = fs.readFileSync(metaPath, 'latin1')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    warn('[restart] no metadata save file, starting with a clean cache')
    return null
  }
  fs.unlinkSync(metaPath)
  const lines = text.split('\n')
  if (lines[0] !== TAG) throw new MemoryFileError('[restart] Failed to read a tag from metadata file')
  const kv = new Map<string, string>()
  for (const l of lines.slice(1)) {
    if (l === '') continue
    const sp = l.indexOf(' ')
    if (l[0] !== 'K' || sp < 0) { warn('[restart] invalid metadata line'); return clean(warn) }
    kv.set(l.slice(1, sp), l.slice(sp + 1))
  }
  const expect: Array<[string, string]> = [
    ['maxbytes', String(want.maxbytes)],
    ['item_size_max', String(want.itemSizeMax)],
    ['chunk_size', String(want.chunkSize)],
    ['growth_factor', want.growthFactor.toFixed(2)],
    ['use_cas', want.useCas ? 'true' : 'false'],
  ]
  for (const [k, v] of expect) {
    if (kv.get(k) !== v) {
      warn(`[restart] restart incompatible due to setting for [${k}] [old value: ${kv.get(k) ?? ''}]`)
      return clean(warn)
    }
  }
  const meta = { hashPower: Number(kv.get('hash_power')), items: Number(kv.get('items')), dataBytes: Number(kv.get('data_bytes')) }
  if (![meta.hashPower, meta.items, meta.dataBytes].every(Number.isSafeInteger)) return clean(warn)
  let size = -1
  try { size = fs.statSync(path).size } catch {}
  if (size !== MAGIC.length + meta.dataBytes) return clean(warn)
  return meta
}

function clean (warn: (line: string) => void): null {
  warn('[restart] failed to validate metadata, starting with a clean cache')
  return null
}

/** Loads the image described by meta into an empty store; returns the items stored. */
export function loadMemoryFile (store: SlabStore, path: string, meta: MemoryMeta): number {
  const fd = fs.openSync(path, 'r')
  let loaded = 0
  try {
    const head = Buffer.alloc(MAGIC.length)
    fs.readSync(fd, head, 0, head.length, 0)
    if (!head.equals(MAGIC)) return 0
    let pos = MAGIC.length
    const end = MAGIC.length + meta.dataBytes
    let buf = Buffer.allocUnsafe(SLICE)
    const now = Math.floor(Date.now() / 1000)
    while (pos < end) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos)
      if (n <= 0) break
      let p = 0
      let grew = false
      while (p + REC_FIXED <= n) {
        const nkey = buf[p + 17]!
        const nbytes = buf.readUInt32BE(p + 18)
        const len = REC_FIXED + nkey + nbytes
        if (p + len > n) {
          if (p === 0 && len > buf.length) { buf = Buffer.allocUnsafe(len); grew = true } // one record larger than the slice
          break
        }
        const exp = buf.readUInt32BE(p + 12)
        if (exp === 0 || exp > now) {
          const ks = p + REC_FIXED
          const cas = Number(buf.readBigUInt64BE(p))
          const res = store.applyItem(buf, ks, ks + nkey, buf.readUInt32BE(p + 8), exp === 0 ? 0 : store.relExptime(exp), cas, buf[p + 16]!, buf, ks + nkey, ks + nkey + nbytes)
          if (res === StoreResult.Stored) loaded++
        }
        p += len
      }
      if (grew) continue // re-read it with the grown buffer
      if (p === 0) break // a truncated record: the rest is lost, what was read stays
      pos += p
    }
  } finally {
    fs.closeSync(fd)
  }
  return loaded
}

/** Writes every live item, coldest first, then the .meta; returns the items written. */
export function saveMemoryFile (store: SlabStore, path: string, settings: MemoryFileSettings): number {
  let handles = new Uint32Array(1 << 16)
  let ages = new Uint16Array(handles.length)
  let n = 0
  for (;;) {
    n = store.listLivePages(1, store.pageCount, handles, ages, 0)
    if (n < handles.length) break
    handles = new Uint32Array(handles.length * 2)
    ages = new Uint16Array(handles.length)
  }
  const order = SlabStore.sortByRecency(handles, ages, n)
  const started = store.processStarted
  const tmp = `${path}.tmp`
  const fd = fs.openSync(tmp, 'w')
  let items = 0
  let bytes = 0
  try {
    fs.writeSync(fd, MAGIC)
    let out = Buffer.allocUnsafe(SLICE)
    let o = 0
    const flush = (): void => { if (o > 0) { fs.writeSync(fd, out, 0, o); bytes += o; o = 0 } }
    for (let i = n - 1; i >= 0; i--) { // oldest first: loading links each at the head
      const h = order[i]!
      if (!store.isLiveHead(h) || store.isDead(h)) continue
      const nkey = store.nkey(h)
      const len = REC_FIXED + nkey + store.nbytes(h)
      if (o + len > out.length) {
        flush()
        if (len > out.length) out = Buffer.allocUnsafe(len)
      }
      o = out.writeBigUInt64BE(BigInt(store.cas(h)), o)
      o = out.writeUInt32BE(store.flags(h), o)
      const e = store.exptime(h)
      o = out.writeUInt32BE(e === 0 ? 0 : e + started, o)
      out[o++] = store.itemBits(h)
      out[o++] = nkey
      o = out.writeUInt32BE(store.nbytes(h), o)
      o = store.copyKey(h, out, o)
      o = store.copyValue(h, out, o)
      items++
    }
    flush()
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, path)
  const meta = [
    TAG,
    `Kversion ${1}`,
    `Kmaxbytes ${settings.maxbytes}`,
    `Kitem_size_max ${settings.itemSizeMax}`,
    `Kchunk_size ${settings.chunkSize}`,
    `Kgrowth_factor ${settings.growthFactor.toFixed(2)}`,
    `Kuse_cas ${settings.useCas ? 'true' : 'false'}`,
    `Khash_power ${store.index.hashPower}`,
    `Kitems ${items}`,
    `Kdata_bytes ${bytes}`,
    `Ksaved_at ${Math.floor(Date.now() / 1000)}`,
  ].join('\n') + '\n'
  fs.writeFileSync(`${path}.meta`, meta)
  return items
}
