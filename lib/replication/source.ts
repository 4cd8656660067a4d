/**
 * The sending side of the stream (a master, or an in-sync replica that others chain
 * from). A connection that sent `repl sync <history> <seqno> <sync id> <cursor> <node>`
 * is handed over by the server; from then on it is a Sender:
 *
 *   partial  the log can continue the replica's position: records from the backlog
 *   full     the replica drops its data; the live items are listed (handles, hottest
 *            first) and each is framed at the moment it is sent, between live records
 *   resume   a full sync cut midway: backlog from the replica's seqno, then the listing
 *            from its cursor (listings are kept 60 s after their link drops)
 *
 * Live records always go first; the listing only advances when the sender has caught up
 * with the log, so every item frame is the item's state at that point of the stream.
 * Sending stops while the socket is full ('drain' resumes it) and a listing batch yields
 * to the event loop, so clients keep being served. Replicas ack (seqno, cursor).
 */
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { SlabStore } from '../store/slab-store.js'
import {
  F, FrameReader, FRAME_HEADER, SNAP_FIXED, SyncMode, encodeError, encodeHello, encodePing, encodeSnapEnd,
  readU64, writeHeader, writeU32, writeU64,
} from './frames.js'
import { newHistoryId, type LogCursor, type ReplicationLog } from './log.js'

/** Bytes of listed items framed per batch before yielding to clients. */
const LIST_BATCH_BYTES = 256 * 1024
/** A listing whose link dropped is kept this long for a resume. */
const LISTING_KEEP_MS = 60_000
const PING_MS = 250

/** Slab pages walked per event-loop turn while a listing is built (~1 MiB each). */
const LIST_PAGES_PER_TURN = 8

/** An interrupted-or-running full sync's item list. */
interface Listing {
  id: string
  handles: Uint32Array
  /** Idle seconds of each listed item, while the list is built (for the hottest-first order). */
  ages: Uint16Array
  total: number
  pos: number
  /** Next slab page to walk; -1 once the list is complete and ordered hottest first. */
  page: number
  /** Date.now() after which an abandoned listing is dropped (0 = a sender is using it). */
  expires: number
}

export interface ReplicaView {
  node: string
  remote: string
  state: 'full_sync' | 'online'
  ackedSeqno: number
  lagSeqno: number
  lagMs: number
}

export class ReplicationSource {
  readonly senders = new Set<Sender>()
  readonly listings = new Map<string, Listing>()
  readonly counters = { full_syncs: 0, partial_syncs: 0, resumed_syncs: 0, backlog_lost: 0, tls_peer_refused: 0 }
  /** Member TLS (replication.ts): why this connection may not take a stream, or null. */
  peerRefused: ((socket: Socket) => string | null) | null = null
  /** Why this node refuses to be a source now (a replica mid-sync), or null. */
  refuse: (() => string | null) = () => null
  /** Called before the first stream is served: the log must be recording from then on. */
  activate: () => void = () => {}
  /** A replica named a newer epoch than ours: a newer master exists (we are deposed). */
  newerEpoch: (epoch: number) => void = () => {}
  /** A replica acked, finished its full sync, attached or left (--min-replicas-to-ack counts). */
  acksChanged: () => void = () => {}

  /** The newest seqno known of the shard's master (a chained replica knows more than it holds). */
  headSeqno: () => number = () => 0
  /** This node's own lag behind the shard's master, ms (0 on a master). */
  upstreamLagMs: () => number = () => 0

  constructor (readonly store: SlabStore, readonly log: ReplicationLog, readonly logger: Logger, readonly timeoutMs = 5000) {}

  /** Hands over a server connection whose first line was `repl ...`. */
  take (socket: Socket, args: string[]): void {
    const peer = this.peerRefused?.(socket) ?? null
    if (peer !== null) {
      this.counters.tls_peer_refused++
      this.logger.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, why: peer }, 'replication peer refused')
      socket.end(encodeError(peer))
      return
    }
    const why = this.refuse()
    if (why !== null || args[0] !== 'sync' || args.length < 6) {
      socket.end(encodeError(why ?? 'usage: repl sync <history> <seqno> <sync id> <cursor> <node> [<epoch>]'))
      return
    }
    const [, historyId, seqText, syncId, cursorText, node, epochText] = args
    // Fencing: a replica that has seen a newer epoch than ours must not take our stream.
    const theirs = epochText === undefined ? 0 : Number(epochText)
    if (Number.isSafeInteger(theirs) && theirs > this.log.epoch) {
      socket.end(encodeError(`stale epoch: this node is at epoch ${this.log.epoch}, the replica has seen ${theirs}`))
      this.newerEpoch(theirs)
      return
    }
    const seq = Number(seqText)
    const cursor = Number(cursorText)
    if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(cursor) || cursor < 0) {
      socket.end(encodeError('bad seqno or cursor'))
      return
    }
    this.expireListings()
    this.activate()
    const log = this.log
    let mode: SyncMode
    let listing: Listing | null = null
    let logCursor: LogCursor | null = null
    const held = this.listings.get(syncId)
    if (held !== undefined && held.expires !== 0 && log.canContinue(historyId, seq) && cursor <= held.total) {
      mode = SyncMode.Resume
      listing = held
      listing.pos = cursor
      listing.expires = 0
      logCursor = log.cursorAfter(seq)
      this.counters.resumed_syncs++
    } else if (syncId === '0' && log.canContinue(historyId, seq)) {
      mode = SyncMode.Partial
      logCursor = log.cursorAfter(seq)
      this.counters.partial_syncs++
    } else {
      mode = SyncMode.Full
    }
    if (logCursor === null && mode !== SyncMode.Full) mode = SyncMode.Full
    if (mode === SyncMode.Full) {
      // The list is built by walking the slab pages a few per turn (pump), so a big store
      // does not stall clients; live records flow meanwhile.
      const room = this.store.counters.curr_items + 1024
      listing = { id: newHistoryId(), handles: new Uint32Array(room), ages: new Uint16Array(room), total: 0, pos: 0, page: 1, expires: 0 }
      this.listings.set(listing.id, listing)
      logCursor = log.cursorAfter(log.seqno)
      this.counters.full_syncs++
    }
    const fs = this.store.flushState
    const hello = encodeHello({
      mode,
      seq: mode === SyncMode.Full ? log.seqno : seq,
      syncId: listing?.id ?? '0',
      cursor: listing?.pos ?? 0,
      total: listing === null ? 0 : listing.page >= 0 ? this.store.counters.curr_items : listing.total,
      flushAt: fs.oldestLive === 0 ? 0 : fs.oldestLive + this.store.clock.processStarted,
      flushCas: fs.oldestCas,
      epoch: log.epoch,
      history: log.history,
    })
    if (listing !== null) log.listingActive++
    const sender = new Sender(this, socket, node, logCursor as LogCursor, listing, mode === SyncMode.Full ? log.seqno : seq)
    this.senders.add(sender)
    this.logger.info({ replica: node, remote: sender.remote, mode: SyncMode.Full === mode ? 'full' : mode === SyncMode.Partial ? 'partial' : 'resume', seq, masterSeq: log.seqno }, 'replica attached')
    sender.start(hello)
  }

  /** A sender ended: keep an unfinished listing for a resume. */
  detached (s: Sender, listing: Listing | null): void {
    this.senders.delete(s)
    if (listing !== null) {
      this.log.listingActive--
      if (listing.pos < listing.total) listing.expires = Date.now() + LISTING_KEEP_MS
      else this.listings.delete(listing.id)
    }
    this.acksChanged()
    this.logger.info({ replica: s.node, acked: s.ackedSeqno }, 'replica detached')
  }

  listingDone (listing: Listing): void {
    this.log.listingActive--
    this.listings.delete(listing.id)
  }

  private expireListings (): void {
    const now = Date.now()
    for (const [id, l] of this.listings) if (l.expires !== 0 && l.expires < now) this.listings.delete(id)
  }

  replicas (): ReplicaView[] {
    return [...this.senders].map((s) => s.view())
  }

  close (): void {
    for (const s of this.senders) s.destroy()
    this.listings.clear()
  }
}

export class Sender {
  readonly remote: string
  ackedSeqno: number
  lastAckMs = Date.now()
  /** Seqno of this stream's SNAP_END (-1: a partial resync, complete from the start). */
  private syncEndSeq = -1
  private waiting = false
  private ended = false
  private scheduled = false
  private finished = false
  private readonly reader = new FrameReader()
  private readonly unsubscribe: () => void
  private readonly ping: NodeJS.Timeout

  constructor (
    private readonly src: ReplicationSource,
    private readonly socket: Socket,
    readonly node: string,
    private readonly cursor: LogCursor,
    private listing: Listing | null,
    startSeq: number,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`
    this.ackedSeqno = startSeq
    this.unsubscribe = src.log.onAppend(() => this.pump())
    this.ping = setInterval(() => {
      // A replica that stopped acking (frozen link, stopped process) is let go; it
      // reconnects with its position when it can.
      if (Date.now() - this.lastAckMs > src.timeoutMs) {
        src.logger.warn({ replica: this.node }, 'replica silent; dropping its stream')
        this.destroy()
        return
      }
      if (!this.waiting && !this.ended) this.socket.write(encodePing(Math.max(this.src.log.seqno, this.src.headSeqno()), this.lagMs(), this.src.upstreamLagMs()))
    }, PING_MS)
    this.ping.unref()
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onAcks(chunk))
    socket.on('drain', () => { this.waiting = false; this.pump() })
    socket.on('error', () => this.destroy())
    socket.on('close', () => this.finish())
    socket.on('end', () => this.destroy())
  }

  start (hello: Buffer): void {
    this.socket.write(hello)
    this.pump()
    this.src.acksChanged()
  }

  /** In the stream with a complete copy (not mid full sync). */
  get online (): boolean { return this.listing === null && !this.ended }

  /**
   * The seqno this replica is known to hold, for --min-replicas-to-ack: after a full sync
   * only acks past its SNAP_END count (an ack of exactly that seqno may have been sent
   * before the last listed items were applied).
   */
  get confirmedSeqno (): number {
    if (!this.online) return 0
    return this.syncEndSeq < 0 || this.ackedSeqno > this.syncEndSeq ? this.ackedSeqno : 0
  }

  lagMs (): number {
    const log = this.src.log
    if (this.ackedSeqno >= log.seqno) return 0
    const t = log.appendTime(this.ackedSeqno + 1)
    return t < 0 ? -1 : performance.now() - t
  }

  view (): ReplicaView {
    const lag = this.lagMs()
    return {
      node: this.node,
      remote: this.remote,
      state: this.listing === null ? 'online' : 'full_sync',
      ackedSeqno: this.ackedSeqno,
      lagSeqno: Math.max(0, this.src.log.seqno - this.ackedSeqno),
      lagMs: lag < 0 ? -1 : Math.round(lag * 10) / 10,
    }
  }

  /** Sends live records, then (when caught up) a batch of the listing. */
  pump (): void {
    if (this.waiting || this.ended) return
    const log = this.src.log
    for (;;) {
      const chunk = log.read(this.cursor)
      if (chunk === 'lost') {
        // The replica fell out of the backlog: it reconnects and gets a full sync.
        this.src.counters.backlog_lost++
        this.src.logger.warn({ replica: this.node }, 'replica fell out of the backlog')
        this.socket.end(encodeError('fell out of the backlog'))
        this.ended = true
        return
      }
      if (chunk === null) break
      if (!this.socket.write(chunk)) { this.waiting = true; return }
    }
    const l = this.listing
    if (l === null) return
    if (l.page >= 0) {
      this.buildListing(l)
    } else if (this.listBatch(l)) {
      this.listing = null
      this.src.listingDone(l)
      this.syncEndSeq = log.seqno
      this.src.acksChanged()
      if (!this.socket.write(encodeSnapEnd(log.seqno))) { this.waiting = true; return }
      this.src.logger.info({ replica: this.node, items: l.total, seq: log.seqno }, 'full sync listed')
      return
    }
    if (this.waiting) return
    // Yield to clients, then go on listing.
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => { this.scheduled = false; this.pump() })
    }
  }

  /** Walks a few more slab pages into the listing; once all are walked, orders it hottest first. */
  private buildListing (l: Listing): void {
    const store = this.src.store
    const to = l.page + LIST_PAGES_PER_TURN
    for (;;) {
      const n = store.listLivePages(l.page, to, l.handles, l.ages, l.total)
      if (n < l.handles.length) { l.total = n; break }
      // Full: items arrived meanwhile. Grow and walk these pages again.
      const handles = new Uint32Array(l.handles.length * 2)
      handles.set(l.handles.subarray(0, l.total))
      const ages = new Uint16Array(handles.length)
      ages.set(l.ages.subarray(0, l.total))
      l.handles = handles
      l.ages = ages
    }
    l.page = to
    if (l.page >= store.pageCount) {
      l.handles = SlabStore.sortByRecency(l.handles, l.ages, l.total)
      l.ages = new Uint16Array(0)
      l.page = -1
    }
  }

  /** Frames up to LIST_BATCH_BYTES of listed items; true when the listing is finished. */
  private listBatch (l: Listing): boolean {
    const store = this.src.store
    const started = store.clock.processStarted
    let size = 0
    let end = l.pos
    // First pass: how many fit in this batch.
    while (end < l.total && size < LIST_BATCH_BYTES) {
      const h = l.handles[end++]
      if (!store.isLiveHead(h)) continue
      size += FRAME_HEADER + SNAP_FIXED + store.nkey(h) + store.nbytes(h)
    }
    if (size === 0) { l.pos = end; return end >= l.total }
    const b = Buffer.allocUnsafe(size)
    let o = 0
    for (let i = l.pos; i < end; i++) {
      const h = l.handles[i]
      if (!store.isLiveHead(h)) continue
      const nkey = store.nkey(h)
      const len = SNAP_FIXED + nkey + store.nbytes(h)
      o = writeHeader(b, o, F.Snap, len)
      o = writeU32(b, o, i + 1)
      o = writeU64(b, o, store.cas(h))
      o = writeU32(b, o, store.flags(h))
      const e = store.exptime(h)
      o = writeU32(b, o, e === 0 ? 0 : e + started)
      b[o++] = store.itemBits(h)
      b[o++] = nkey
      o = store.copyKey(h, b, o)
      o = store.copyValue(h, b, o)
    }
    l.pos = end
    if (!this.socket.write(b)) this.waiting = true
    return false
  }

  private onAcks (chunk: Buffer): void {
    const before = this.ackedSeqno
    const r = this.reader
    r.push(chunk)
    while (r.next()) {
      if (r.type === F.Ack && r.end - r.start >= 12) {
        this.lastAckMs = Date.now()
        this.ackedSeqno = readU64(r.buf, r.start)
      }
    }
    if (this.ackedSeqno !== before) this.src.acksChanged()
    if (r.broken) this.destroy()
  }

  destroy (): void {
    this.ended = true
    this.socket.destroy()
  }

  private finish (): void {
    if (this.finished) return
    this.finished = true
    this.ended = true
    clearInterval(this.ping)
    this.unsubscribe()
    this.src.detached(this, this.listing)
    this.listing = null
  }
}
