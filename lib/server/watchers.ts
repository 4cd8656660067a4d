/**
 * `watch` log streams: the registry of watching connections and the lines they get, as
 * memcached 1.6.18's logger.c writes them.
 *
 *   ts=<sec>.<usec> gid=<n> type=item_get key=<k> status=<found|not_found|flushed|expired> clsid=<c> cfd=<fd> size=<n>
 *   ts=<sec>.<usec> gid=<n> type=item_store key=<k> status=<stored|not_stored|exists|not_found|too_large|no_memory> cmd=<set|add|...> ttl=<s> clsid=<c> cfd=<fd> size=<n>
 *   ts=<sec>.<usec> gid=<n> type=eviction key=<k> fetch=<yes|no> ttl=<s|-1> la=<s> clsid=<c> size=<n>
 *
 * - Keys are URI-encoded (alphanumerics and -._~ as is, every other byte %XX), so binary
 *   keys are safe on the line. usec is not zero-padded (memcached prints "%d").
 * - gid is one server-wide counter, taken by every event some watcher wants and by each
 *   new watcher (logger_get_gid), so lines can be put back in order.
 * - cfd: memcached prints the client's file descriptor; memring has none and prints the
 *   connection id (`stats conns`), stable for the connection's life.
 * - Bounded memory, as memcached's per-watcher buffer (256 KiB, or -o watcher_logbuf_size):
 *   a line is queued only if the bytes not yet taken by the socket plus the line plus 128
 *   fit in it; otherwise it is dropped and counted, and the next line that fits is preceded
 *   by "skipped=N\n". A watcher that never reads costs at most that buffer here plus the
 *   kernel's.
 *   ts=<sec>.<usec> gid=<n> type=conn_new rip=<ip> rport=<port> transport=<local|tcp> cfd=<id>
 *   ts=<sec>.<usec> gid=<n> type=conn_close rip=<ip> rport=<port> transport=<local|tcp> reason=<normal|error|idle_timeout|shutdown> cfd=<id>
 * - Streams memring has no source for (sysevents, rawcmds, proxy*) are
 *   accepted and stay silent; rawcmds and the proxy streams are silent in 1.6.18 too.
 *
 * The store reports through StoreObserver (lib/store/events.ts); the registry installs
 * itself as the store's observer only while a watcher wants fetchers, mutations or
 * evictions, so an unwatched server pays one null check per store call.
 */
import type { FetchStatus, StoreObserver } from '../store/events.js'
import type { SlabStore } from '../store/slab-store.js'
import { StoreMode, StoreResult } from '../store/store.js'
import type { ConnControl } from './context.js'

/** Stream bits (memcached logger.h LOG_*). */
export const LogFlag = {
  SysEvents: 1 << 1,
  Fetchers: 1 << 2,
  Mutations: 1 << 3,
  ConnEvents: 1 << 5,
  Evictions: 1 << 6,
  RawCmds: 1 << 9,
  ProxyReqs: 1 << 10,
  ProxyEvents: 1 << 11,
  ProxyUser: 1 << 12,
} as const

/** `watch` argument → stream bit (proto_text.c process_watch_command); 0 = unknown. */
export function streamFlag (name: string): number {
  switch (name) {
    case 'rawcmds': return LogFlag.RawCmds
    case 'evictions': return LogFlag.Evictions
    case 'fetchers': return LogFlag.Fetchers
    case 'mutations': return LogFlag.Mutations
    case 'sysevents': return LogFlag.SysEvents
    case 'connevents': return LogFlag.ConnEvents
    case 'proxyreqs': return LogFlag.ProxyReqs
    case 'proxyevents': return LogFlag.ProxyEvents
    case 'proxyuser': return LogFlag.ProxyUser
    default: return 0
  }
}

/** memcached WATCHER_LIMIT and LOGGER_WATCHER_BUF_SIZE (the default of -o watcher_logbuf_size). */
export const WATCHER_LIMIT = 20
export const WATCHER_BUF_SIZE = 256 * 1024

const FETCH_STATUS = ['not_found', 'found', 'flushed', 'expired']
const STORE_STATUS: Record<number, string> = {
  [StoreResult.NotStored]: 'not_stored',
  [StoreResult.Stored]: 'stored',
  [StoreResult.Exists]: 'exists',
  [StoreResult.NotFound]: 'not_found',
  [StoreResult.TooLarge]: 'too_large',
  [StoreResult.NoMemory]: 'no_memory',
}
const STORE_CMD: Record<number, string> = {
  [StoreMode.Add]: 'add',
  [StoreMode.Set]: 'set',
  [StoreMode.Replace]: 'replace',
  [StoreMode.Append]: 'append',
  [StoreMode.Prepend]: 'prepend',
  [StoreMode.Cas]: 'cas',
}

/** memcached util.c uriencode_map. */
const URI: string[] = []
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b)
  URI.push(/[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0'))
}

export function uriEncode (buf: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) out += URI[buf[i]]
  return out
}

/** One watching connection: lines queued here until the socket takes them. */
class Watcher {
  private pending: string[] = []
  private pendingBytes = 0
  /** Bytes handed to the connection that the socket has not drained yet. */
  private unsent = 0
  /** The connection reported a full socket; nothing more is written until it drains. */
  private blocked = false
  private scheduled = false
  skipped = 0

  /** bufSize: the cap in bytes (memcached settings.logger_watcher_buf_size). */
  constructor (readonly conn: ConnControl, readonly flags: number, private readonly bufSize: number) {}

  /** memcached logger_thread_write_entry: queue a line, or drop it and count. */
  offer (line: string, reg: Watchers): void {
    if (this.unsent + this.pendingBytes + line.length + 128 > this.bufSize) {
      this.flush()
      if (this.unsent + this.pendingBytes + line.length + 128 > this.bufSize) {
        this.skipped++
        reg.skippedTotal++
        return
      }
    }
    if (this.skipped > 0) {
      this.push(`skipped=${this.skipped}\n`)
      this.skipped = 0
    }
    this.push(line)
    reg.sentTotal++
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => { this.scheduled = false; this.flush() })
    }
  }

  private push (s: string): void {
    this.pending.push(s)
    this.pendingBytes += s.length
  }

  /** Hands queued lines to the connection unless its socket is full. */
  flush (): void {
    if (this.blocked || this.pendingBytes === 0) return
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('')
    this.pending.length = 0
    const n = this.pendingBytes
    this.pendingBytes = 0
    this.conn.out.ascii(text)
    this.conn.flush()
    // The connection pauses itself when the socket is over its high-water mark
    // ('conn_mwrite'); until 'drain' those bytes count against the cap.
    if (this.conn.state?.() === 'conn_mwrite') {
      this.blocked = true
      this.unsent += n
    } else {
      this.unsent = 0
    }
  }

  /** Bytes this watcher holds or has handed to a full socket (at most its bufSize). */
  get queued (): number { return this.unsent + this.pendingBytes }

  /** The socket drained (the session's resume()). */
  drained (): void {
    this.blocked = false
    this.unsent = 0
    this.flush()
  }
}

export class Watchers implements StoreObserver {
  private list: Watcher[] = []
  /** Union of every watcher's streams (memcached logger_set_flags). */
  private want = 0
  /** Some connection watches: sessions then note their connection id in `cfd`. */
  active = false
  /** Connection id of the request being handled (printed as cfd). */
  cfd = 0
  private gid = 0
  /** stats: log_worker_written, log_watcher_sent, log_watcher_skipped. */
  writtenTotal = 0
  sentTotal = 0
  skippedTotal = 0

  /** bufSize: each watcher's cap in bytes (-o watcher_logbuf_size; memcached's default 256 KiB). */
  constructor (private readonly items: SlabStore, private readonly bufSize = WATCHER_BUF_SIZE) {}

  get count (): number { return this.list.length }

  /** The largest number of bytes any watcher holds (tests check the 256 KiB bound). */
  get maxQueued (): number { let m = 0; for (const w of this.list) m = Math.max(m, w.queued); return m }

  /** memcached logger_add_watcher: false when WATCHER_LIMIT watchers exist. */
  add (conn: ConnControl, flags: number): boolean {
    if (this.list.length >= WATCHER_LIMIT) return false
    this.gid++ // memcached takes a gid as the watcher's min_gid
    this.list.push(new Watcher(conn, flags, this.bufSize))
    this.update()
    return true
  }

  remove (conn: ConnControl): void {
    const i = this.list.findIndex((w) => w.conn === conn)
    if (i < 0) return
    this.list.splice(i, 1)
    this.update()
  }

  /** The watcher's socket drained. */
  drained (conn: ConnControl): void {
    for (const w of this.list) if (w.conn === conn) w.drained()
  }

  private update (): void {
    let f = 0
    for (const w of this.list) f |= w.flags
    this.want = f
    this.active = this.list.length > 0
    const storeEvents = LogFlag.Fetchers | LogFlag.Mutations | LogFlag.Evictions
    this.items.observer = (f & storeEvents) !== 0 ? this : null
  }

  /** "ts=<sec>.<usec> gid=<gid> ": memcached's line prefix (gettimeofday, %lld.%d). */
  private prefix (): string {
    const ms = performance.timeOrigin + performance.now()
    const sec = Math.floor(ms / 1000)
    const usec = Math.floor((ms - sec * 1000) * 1000)
    return `ts=${sec}.${usec} gid=${++this.gid} `
  }

  private emit (flag: number, body: string): void {
    this.writtenTotal++
    const line = this.prefix() + body
    for (const w of this.list) if ((w.flags & flag) !== 0) w.offer(line, this)
  }

  // ---- StoreObserver ------------------------------------------------------------------

  fetch (status: FetchStatus, key: Uint8Array, ks: number, ke: number, h: number): void {
    if ((this.want & LogFlag.Fetchers) === 0) return
    const st = this.items
    const found = h !== 0
    this.emit(LogFlag.Fetchers, `type=item_get key=${uriEncode(key, ks, ke)} status=${FETCH_STATUS[status]} clsid=${found ? st.clsid(h) : 0} cfd=${this.cfd} size=${found ? st.nbytes(h) : 0}\n`)
  }

  store (result: StoreResult, mode: StoreMode, h: number): void {
    if ((this.want & LogFlag.Mutations) === 0) return
    const st = this.items
    const key = Buffer.allocUnsafe(st.nkey(h))
    st.copyKey(h, key, 0)
    const e = st.exptime(h)
    const ttl = e !== 0 ? (e - st.now()) >>> 0 : 0
    this.emit(LogFlag.Mutations, `type=item_store key=${uriEncode(key, 0, key.length)} status=${STORE_STATUS[result]} cmd=${STORE_CMD[mode] ?? 'na'} ttl=${ttl} clsid=${st.clsid(h)} cfd=${this.cfd} size=${st.nbytes(h)}\n`)
  }

  /**
   * A storage command refused before any item existed (too large, out of memory). memcached
   * passes too few arguments to its logger here and prints the fd as clsid and stack bytes
   * as cfd; memring prints clsid=0 and the real cfd.
   */
  storeFailed (result: StoreResult, mode: StoreMode, key: Uint8Array, ks: number, ke: number): void {
    if ((this.want & LogFlag.Mutations) === 0) return
    this.emit(LogFlag.Mutations, `type=item_store key=${uriEncode(key, ks, ke)} status=${STORE_STATUS[result]} cmd=${STORE_CMD[mode] ?? 'na'} ttl=0 clsid=0 cfd=${this.cfd} size=0\n`)
  }

  /**
   * A connection opened or closed (`watch connevents`, memcached's LOGGER_CONNECTION_NEW and
   * _CLOSE). rip/rport: the peer ("" and 0 on a unix socket, as memcached zeroes them);
   * transport: local (unix socket) or tcp; reason: normal (the client closed or quit),
   * error (a protocol error closed it), idle_timeout, shutdown.
   */
  connEvent (open: boolean, cfd: number, rip: string, rport: number, transport: 'local' | 'tcp', reason = 'normal'): void {
    if ((this.want & LogFlag.ConnEvents) === 0) return
    const tail = open ? '' : ` reason=${reason}`
    this.emit(LogFlag.ConnEvents, `type=${open ? 'conn_new' : 'conn_close'} rip=${rip} rport=${rport} transport=${transport}${tail} cfd=${cfd}\n`)
  }

  evict (h: number): void {
    if ((this.want & LogFlag.Evictions) === 0) return
    const st = this.items
    const key = Buffer.allocUnsafe(st.nkey(h))
    st.copyKey(h, key, 0)
    const now = st.now()
    const e = st.exptime(h)
    const ttl = e > 0 ? e - now : -1
    this.emit(LogFlag.Evictions, `type=eviction key=${uriEncode(key, 0, key.length)} fetch=${st.fetched(h) ? 'yes' : 'no'} ttl=${ttl} la=${now - st.lastAccess(h)} clsid=${st.clsid(h)} size=${st.nbytes(h)}\n`)
  }
}
