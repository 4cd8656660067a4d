/**
 * The receiving side: follows one master (or an in-sync replica) at a time. Connects,
 * asks to continue from this node's position, applies every frame to the store in order,
 * appends records to this node's own log (same seqnos and bytes), acks once per event-loop
 * turn, and reconnects after a cut with the position it reached, so a short cut costs a
 * partial resync and a cut mid full sync resumes from its cursor.
 *
 * An empty node's position is (its own fresh history, 0): it always gets a full sync. A
 * replica holding data refuses a full sync from a master of another lineage whose seqno is
 * below its own (a restarted, empty master must not wipe it); see README.md.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { dialMember } from './member-tls.js'
import { SyncEvents } from './sync-events.js'
import type { KeyHolds } from './holds.js'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import type { Logger } from 'pino'
import type { SlabStore } from '../store/slab-store.js'
import { F, FrameReader, SyncMode, decodeHello, encodeAck, readU32, readU64, type Hello } from './frames.js'
import type { ReplicationLog } from './log.js'

export type ReplicaState = 'idle' | 'connecting' | 'full_sync' | 'online' | 'refused'

export interface ReplicaOptions {
  store: SlabStore
  log: ReplicationLog
  /** This node's address, sent to the master for its `stats replication`. */
  node: () => string
  logger: Logger
  /** First reconnect delay; doubles up to maxRetryMs. */
  retryMs?: number
  maxRetryMs?: number
  /** No byte from the master for this long (it pings every 250 ms): reconnect. */
  timeoutMs?: number
  /** Lag behind the master (its ping figure, ms) above which a `lag_high` event is logged. Default 5000. */
  lagThresholdMs?: number
  /** Where a connection to host:port really goes (lib/app passes the test hooks' WAN map). */
  route?: (host: string, port: number) => { host: string, port: number }
  /** Keys held by `dc_invalidate` (holds.ts): their records wait instead of being applied. */
  holds?: KeyHolds
  /** Member TLS: dial the master with these options (replication.ts); null: plain TCP. */
  tls?: (() => TlsConnectionOptions) | null
}

export class ReplicaLink extends EventEmitter {
  target: { host: string, port: number } | null = null
  state: ReplicaState = 'idle'
  /** The store holds a complete copy as of log.seqno (a full sync finished, or partial since). */
  inSync = false
  /** The newest epoch this node knows of (ZooKeeper): a stream from an older one is refused. */
  minEpoch = 0
  /** Highest master seqno heard of, and the master's last lag figure for us. */
  masterSeqno = 0
  masterLagMs = 0
  /** The upstream's own lag behind the shard master (a chained follower's head), ms. */
  upstreamLagMs = 0
  lastIoMs = 0
  readonly counters = { full_syncs: 0, partial_syncs: 0, resumed_syncs: 0, connects: 0, sync_refused: 0, applied: 0, apply_failed: 0, stale_epoch: 0 }
  private syncId = '0'
  private cursor = 0
  private socket: net.Socket | null = null
  private reader = new FrameReader()
  private retry: NodeJS.Timeout | null = null
  private retryDelay: number
  private ackScheduled = false
  private closed = false
  private sawFrame = false
  private readonly watchdog: NodeJS.Timeout
  private readonly events: SyncEvents

  constructor (private readonly o: ReplicaOptions) {
    super()
    this.retryDelay = o.retryMs ?? 100
    this.events = new SyncEvents(o.logger, o.lagThresholdMs ?? 5000)
    const timeout = o.timeoutMs ?? 5000
    // A frozen link (TCP open, nothing passes) never errors: give up on silence.
    this.watchdog = setInterval(() => {
      const s = this.socket
      if (s !== null && !s.connecting && Date.now() - this.lastIoMs > timeout) {
        this.o.logger.warn({ master: this.target, silentMs: Date.now() - this.lastIoMs }, 'replication link silent; reconnecting')
        s.destroy()
      }
    }, Math.max(50, Math.floor(timeout / 4)))
    this.watchdog.unref()
  }

  get store (): SlabStore { return this.o.store }
  get log (): ReplicationLog { return this.o.log }
  get syncInProgress (): boolean { return this.state === 'full_sync' || (!this.inSync && this.state !== 'refused') }
  get lagSeqno (): number { return Math.max(0, this.masterSeqno - this.o.log.seqno) }
  /**
   * Lag behind the shard's master, ms: this link's as the upstream sees it from our acks
   * (the age of the oldest record we had not acknowledged, at its last PING; so it includes
   * the ack's trip back, and records still crossing a WAN, which our own seqno cannot
   * show), plus the upstream's own lag when chained.
   */
  get lagMs (): number { return this.masterLagMs + this.upstreamLagMs }

  /** Follow host:port (null: stop following). Reconnects when it changes. */
  setTarget (t: { host: string, port: number } | null): void {
    const same = t !== null && this.target !== null && t.host === this.target.host && t.port === this.target.port
    if (same || (t === null && this.target === null)) return
    this.target = t
    this.drop()
    this.retryDelay = this.o.retryMs ?? 100
    if (t !== null) this.connect()
    else this.state = 'idle'
  }

  close (): void {
    this.closed = true
    clearInterval(this.watchdog)
    this.drop()
  }

  private drop (): void {
    if (this.retry !== null) { clearTimeout(this.retry); this.retry = null }
    if (this.socket !== null) { this.socket.removeAllListeners(); this.socket.on('error', () => {}); this.socket.destroy(); this.socket = null }
  }

  private connect (): void {
    if (this.closed || this.target === null) return
    const { host, port } = this.target
    this.state = 'connecting'
    this.reader = new FrameReader()
    this.sawFrame = false
    const s = dialMember(this.o.route?.(host, port) ?? { host, port }, host, this.o.tls ?? null)
    this.socket = s
    s.setNoDelay(true)
    this.lastIoMs = Date.now()
    s.on(this.o.tls != null ? 'secureConnect' : 'connect', () => {
      this.lastIoMs = Date.now()
      this.counters.connects++
      const log = this.o.log
      // In sync: continue from our position. Mid full sync: resume the listing. Else: full.
      const syncId = this.inSync ? '0' : this.syncId
      s.write(`repl sync ${log.historyId} ${log.seqno} ${syncId} ${this.inSync ? 0 : this.cursor} ${this.o.node()} ${this.minEpoch}\r\n`)
    })
    s.on('data', (chunk: Buffer) => this.onData(chunk))
    s.on('error', (err) => { this.o.logger.debug({ err: err.message, master: `${host}:${port}` }, 'replication link error') })
    s.on('close', () => this.onClose(s))
  }

  private onClose (s: net.Socket): void {
    if (s !== this.socket) return
    this.socket = null
    if (this.closed || this.target === null) return
    if (this.state !== 'refused') this.state = 'connecting'
    const delay = this.state === 'refused' ? 5000 : this.retryDelay
    this.retryDelay = Math.min(this.retryDelay * 2, this.o.maxRetryMs ?? 1000)
    this.retry = setTimeout(() => { this.retry = null; this.connect() }, delay)
    this.retry.unref()
  }

  private fail (why: string): void {
    this.o.logger.warn({ master: this.target, why }, 'replication stream broken')
    this.socket?.destroy()
  }

  private onData (chunk: Buffer): void {
    this.lastIoMs = Date.now()
    if (!this.sawFrame) {
      this.sawFrame = true
      if (chunk[0] !== F.Hello && chunk[0] !== F.Error) {
        this.o.logger.error({ master: this.target, reply: chunk.subarray(0, 60).toString('latin1').trim() }, 'master does not speak the replication stream')
        this.socket?.destroy()
        return
      }
    }
    const r = this.reader
    r.push(chunk)
    try {
      while (r.next()) {
        if (!this.apply(r)) return
      }
    } catch (err) {
      this.fail(`apply failed: ${(err as Error).message}`)
      return
    }
    if (r.broken) { this.fail('frame too large'); return }
    if (!this.ackScheduled) {
      this.ackScheduled = true
      setImmediate(() => {
        this.ackScheduled = false
        this.socket?.write(encodeAck(this.o.log.seqno, this.cursor))
      })
    }
  }

  /** Applies one frame; false when the stream must stop. */
  private apply (r: FrameReader): boolean {
    const b = r.buf
    const s = r.start
    const store = this.o.store
    const log = this.o.log
    switch (r.type) {
      case F.Item: case F.Touch: case F.Delete: case F.Flush: {
        const seq = readU64(b, s)
        if (seq !== log.seqno + 1) { this.fail(`expected seqno ${log.seqno + 1}, got ${seq}`); return false }
        if (r.type === F.Flush) {
          const at = readU32(b, s + 8)
          store.applyFlush(at === 0 ? 0 : Math.max(1, at - store.clock.processStarted), readU64(b, s + 12))
          this.o.holds?.dropKept()
        } else if (!this.held(r.type, b, s + 8, r.end)) this.applyBody(r.type, b, s + 8, r.end)
        log.appendFrame(b, r.frameStart, r.end, seq)
        if (seq > this.masterSeqno) this.masterSeqno = seq
        this.counters.applied++
        return true
      }
      case F.Snap:
        this.cursor = readU32(b, s)
        if (!this.held(F.Item, b, s + 4, r.end)) this.applyItem(b, s + 4, r.end)
        this.events.item(r.end - r.frameStart)
        return true
      case F.SnapEnd:
        this.inSync = true
        log.servableFrom = log.seqno
        this.syncId = '0'
        this.cursor = 0
        this.state = 'online'
        this.events.finished({ master: this.target, seqno: log.seqno, currItems: store.counters.curr_items })
        this.emit('synced')
        return true
      case F.Ping:
        this.masterSeqno = Math.max(this.masterSeqno, readU64(b, s))
        this.masterLagMs = readU32(b, s + 8)
        this.events.lag(this.masterLagMs, () => ({ master: this.target, lagSeqno: Math.max(0, this.masterSeqno - log.seqno) }))
        this.upstreamLagMs = r.end - s >= 16 ? readU32(b, s + 12) : 0
        return true
      case F.Hello: {
        const h = decodeHello(b, s, r.end)
        if (h === null) { this.fail('bad hello'); return false }
        return this.hello(h)
      }
      case F.Error:
        this.o.logger.warn({ master: this.target, error: b.toString('utf8', s, r.end) }, 'master ended the replication stream')
        return true
      default:
        this.fail(`unknown frame type ${r.type}`)
        return false
    }
  }

  private hello (h: Hello): boolean {
    const store = this.o.store
    const log = this.o.log
    if (h.epoch < this.minEpoch) {
      this.counters.stale_epoch++
      this.fail(`stream of epoch ${h.epoch}, but epoch ${this.minEpoch} is known: the sender is a deposed master`)
      return false
    }
    this.masterSeqno = Math.max(h.seq, this.masterSeqno)
    if (h.mode === SyncMode.Full) {
      const related = h.history.some((e) => e.id === log.historyId)
      if (this.inSync && log.seqno > 0 && store.counters.curr_items > 0 && !related && h.seq < log.seqno) {
        this.counters.sync_refused++
        this.state = 'refused'
        this.o.logger.error({ master: this.target, masterSeq: h.seq, ownSeq: log.seqno },
          'refusing a full sync that would replace this node\'s data with a master of another, shorter history')
        this.socket?.destroy()
        return false
      }
      store.clear(h.total)
      this.o.holds?.dropKept()
      log.resetTo(h.history, h.seq)
      this.inSync = false
      this.syncId = h.syncId
      this.cursor = 0
      this.masterSeqno = h.seq
      this.counters.full_syncs++
      this.state = 'full_sync'
      this.events.started('full', { master: this.target, total: h.total, seqno: h.seq, epoch: h.epoch })
    } else {
      if (h.seq !== log.seqno) { this.fail(`master continues from ${h.seq}, we are at ${log.seqno}`); return false }
      log.adoptHistory(h.history)
      if (h.mode === SyncMode.Resume) {
        this.counters.resumed_syncs++
        this.cursor = h.cursor
        this.state = 'full_sync'
      } else {
        // The master continues our own stream: what we hold is a complete copy up to our
        // position (a former master rejoining, or a replica after a cut).
        this.counters.partial_syncs++
        this.state = 'online'
        if (!this.inSync) { this.inSync = true; this.emit('synced') }
      }
      this.events.started(h.mode === SyncMode.Resume ? 'resume' : 'partial', { master: this.target, seqno: h.seq, epoch: h.epoch })
      // A partial resync is over once the master agreed to continue our stream.
      if (h.mode !== SyncMode.Resume) this.events.finished({ master: this.target, seqno: h.seq })
    }
    log.epoch = h.epoch
    store.applyFlush(h.flushAt === 0 ? 0 : Math.max(1, h.flushAt - store.clock.processStarted), h.flushCas)
    this.retryDelay = this.o.retryMs ?? 100
    return true
  }

  /** An ITEM, TOUCH or DELETE body b[p, end) (after the seqno), applied to the store. */
  applyBody (type: number, b: Buffer, p: number, end: number): void {
    if (type === F.Item) this.applyItem(b, p, end)
    else if (type === F.Touch) this.o.store.applyTouch(b, p + 5, p + 5 + b[p + 4]!, this.rel(readU32(b, p)))
    else this.o.store.applyDelete(b, p + 1, p + 1 + b[p]!)
  }

  /** True when the body's key is held by dc_invalidate (holds.ts): kept for later, not applied. */
  private held (type: number, b: Buffer, p: number, end: number): boolean {
    const holds = this.o.holds
    if (holds === undefined || holds.size === 0) return false
    const ks = type === F.Item ? p + 18 : type === F.Touch ? p + 5 : p + 1
    const nkey = b[type === F.Item ? p + 17 : type === F.Touch ? p + 4 : p]!
    return holds.keep(type, b, ks, ks + nkey, p, end)
  }

  /** ITEM/SNAP body from p (after seq or cursor): cas flags exptime bits nkey key value. */
  private applyItem (b: Buffer, p: number, end: number): void {
    const cas = readU64(b, p)
    const flags = readU32(b, p + 8)
    const exp = readU32(b, p + 12)
    const bits = b[p + 16]
    const nkey = b[p + 17]
    const ks = p + 18
    const res = this.o.store.applyItem(b, ks, ks + nkey, flags, this.rel(exp), cas, bits, b, ks + nkey, end)
    if (res !== 0) this.counters.apply_failed++
  }

  private rel (abs: number): number {
    return abs === 0 ? 0 : this.o.store.relExptime(abs)
  }
}

