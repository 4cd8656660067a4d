/**
 * One node's replication: its log, the source that serves streams from it, and, on a
 * replica, the link that follows a master. lib/app wires it to the server (the `repl`
 * connection hand-over, the read-only refusal, `stats replication`) and to ZooKeeper.
 *
 *   master   store.mutations = log; client writes become records; replicas attach
 *   replica  store.mutations = null (records arrive from the link and are appended as
 *            they are); client writes are refused by the server (ctx.readOnly)
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { peerWithoutCertificate } from './member-tls.js'
import type { Logger } from 'pino'
import type { SlabStore } from '../store/slab-store.js'
import { ReplicationLog } from './log.js'
import { MinAcks } from './min-acks.js'
import { KeyHolds } from './holds.js'
import { ReplicaLink } from './replica.js'
import { ReplicationSource } from './source.js'

export type ReplicationRole = 'master' | 'replica'

export interface ReplicationOptions {
  store: SlabStore
  /** --repl-backlog-size in bytes. */
  backlogBytes: number
  /** This node's advertised address (told to the masters it follows; known once listening). */
  node: () => string
  logger: Logger
  /** --repl-timeout: a link silent this long is dropped (both ends). */
  timeoutMs?: number
  /** --repl-lag-threshold: this copy's lag above it logs `lag_high` (default 5000 ms). */
  lagThresholdMs?: number
  /** Where the link's connection to host:port really goes (default: there). */
  route?: (host: string, port: number) => { host: string, port: number }
  /**
   * Member TLS (the host runs with -Z): what this node presents (its own certificate) and
   * trusts (ssl_ca_cert) when it dials the node it follows, read at each dial so a
   * refresh_certs is picked up. Set: streams are served only to peers whose certificate
   * verified on this host's TLS listener (mutual authentication).
   */
  tls?: (() => TlsConnectionOptions) | null
}

export class Replication {
  readonly log: ReplicationLog
  readonly source: ReplicationSource
  readonly link: ReplicaLink
  /** --min-replicas-to-ack: the server's write gate on a master (wired by lib/app). */
  readonly acks: MinAcks
  /** Keys dropped by `dc_invalidate` whose stream records wait (holds.ts); replicas only. */
  readonly holds = new KeyHolds()
  role: ReplicationRole = 'master'
  /** This node has led (lead()): its data is a complete copy, also once it follows again. */
  private led = false
  /** Called when role or master changes (the server's read-only line, ZooKeeper's record). */
  onChange: () => void = () => {}
  /** A replica told this node of a newer epoch than its own: another master was elected. */
  onNewerEpoch: (epoch: number) => void = () => {}

  constructor (private readonly o: ReplicationOptions) {
    this.log = new ReplicationLog(o.store, o.backlogBytes)
    this.source = new ReplicationSource(o.store, this.log, o.logger, o.timeoutMs)
    this.link = new ReplicaLink({ store: o.store, log: this.log, node: o.node, logger: o.logger, timeoutMs: o.timeoutMs, lagThresholdMs: o.lagThresholdMs, route: o.route, holds: this.holds, tls: o.tls ?? null })
    if (o.tls != null) this.source.peerRefused = peerWithoutCertificate
    this.holds.replay = (type, body) => this.link.applyBody(type, body, 0, body.length)
    // A replica that is mid full sync holds an incomplete copy: nobody may chain from it.
    this.source.refuse = () => this.role === 'replica' && !this.link.inSync ? 'not in sync' : null
    this.link.on('synced', () => this.onChange())
    this.source.activate = () => this.activate()
    this.source.newerEpoch = (e) => { if (this.role === 'master') this.onNewerEpoch(e) }
    // A replica that others chain from (a follower DC's head) passes on what it knows of
    // the master, so theirs is the lag behind the master, not behind the head.
    this.source.headSeqno = () => this.role === 'replica' ? this.link.masterSeqno : this.log.seqno
    this.source.upstreamLagMs = () => this.role === 'replica' ? this.link.lagMs : 0
    this.acks = new MinAcks(this.log, this.source)
    this.source.acksChanged = () => this.acks.update()
  }

  /** Epoch of this node's data: its own as master, its master's as replica. */
  get epoch (): number { return this.log.epoch }

  /**
   * Start logging client writes (a master's backlog). Standalone servers start when the
   * first replica attaches, so a plain memcached replacement pays nothing; once on, it
   * stays on, so seqnos never skip a write.
   */
  activate (): void {
    if (this.role === 'master') this.o.store.mutations = this.log
  }

  /**
   * Follow host:port as a replica (writes refused from now on). `epoch`: the newest epoch
   * known (ZooKeeper); a stream from a master of an older one is refused.
   */
  follow (host: string, port: number, epoch = 0): void {
    this.knowEpoch(epoch)
    // A master that steps down holds a complete copy at its position: it stays eligible.
    if (this.role === 'master' && this.led) this.link.inSync = true
    if (this.role !== 'replica') {
      this.role = 'replica'
      this.o.store.mutations = null
    }
    this.link.setTarget({ host, port })
    this.onChange()
  }

  /** A newer epoch is known (ZooKeeper): a stream from a master of an older one is refused. */
  knowEpoch (epoch: number): void {
    if (epoch > this.link.minEpoch) this.link.minEpoch = epoch
  }

  /** Stop following (the shard's master is gone): keep the data, refuse writes, wait. */
  unfollow (): void {
    if (this.role !== 'replica' || this.link.target === null) return
    this.link.setTarget(null)
    this.onChange()
  }

  /** A replica with no master to follow yet: writes refused, reads served. */
  standBy (): void {
    if (this.role === 'master' && this.led) this.link.inSync = true
    if (this.role !== 'replica') {
      this.role = 'replica'
      this.o.store.mutations = null
    }
    this.onChange()
  }

  /**
   * Take writes as master at `epoch`: a new history that keeps the ones the data came
   * from, so sibling replicas continue with a partial resync. A master re-elected at a
   * newer epoch (nobody else took writes meanwhile) keeps its history.
   */
  lead (epoch = this.log.epoch): void {
    this.knowEpoch(epoch)
    if (this.role === 'master') {
      if (epoch !== this.log.epoch) { this.log.epoch = epoch; this.onChange() }
      return
    }
    // Records kept aside by dc_invalidate are the stream's: applied before writes are taken.
    this.holds.releaseAll()
    this.log.epoch = epoch
    this.led = true
    this.link.setTarget(null)
    this.role = 'master'
    this.log.newHistory()
    this.log.servableFrom = 0
    this.activate()
    this.onChange()
  }

  /**
   * `dc_invalidate`: drop this replica's copy of key[ks, ke) and hold the key for `ms`
   * (holds.ts). Not logged (a replica's store has no mutations log), not replicated. False
   * on a master (its copy is the truth) or when too many keys are held.
   */
  invalidate (key: Uint8Array, ks: number, ke: number, ms: number): boolean {
    if (this.role !== 'replica') return false
    if (!this.holds.hold(key, ks, ke, ms)) return false
    this.o.store.applyDelete(key, ks, ke)
    return true
  }

  get masterAddress (): string {
    const t = this.link.target
    return this.role === 'replica' && t !== null ? `${t.host}:${t.port}` : ''
  }

  /** Figures for ZooKeeper's node record and memringctl. */
  summary (): { role: ReplicationRole, master: string, historyId: string, seqno: number, lagMs: number, lagSeqno: number, syncInProgress: boolean, replicas: number } {
    const lag = this.lag()
    return {
      role: this.role,
      master: this.masterAddress,
      historyId: this.log.historyId,
      seqno: this.log.seqno,
      lagMs: lag.ms,
      lagSeqno: lag.seqno,
      syncInProgress: this.role === 'replica' && this.link.syncInProgress,
      replicas: this.source.senders.size,
    }
  }

  /** Own lag on a replica; the largest replica lag on a master. */
  lag (): { ms: number, seqno: number } {
    if (this.role === 'replica') return { ms: this.link.lagMs, seqno: this.link.lagSeqno }
    let ms = 0
    let seqno = 0
    for (const r of this.source.replicas()) { ms = Math.max(ms, r.lagMs); seqno = Math.max(seqno, r.lagSeqno) }
    return { ms, seqno }
  }

  /** `stats replication` rows, in order. */
  stats (): Array<[string, string | number]> {
    const log = this.log
    const link = this.link
    const replica = this.role === 'replica'
    const rate = log.writeRate()
    const lag = this.lag()
    const counters = replica ? link.counters : this.source.counters
    const rows: Array<[string, string | number]> = [
      ['role', this.role],
      ['master', this.masterAddress],
      ['master_link', replica ? link.state : ''],
      ['history_id', log.historyId],
      ['epoch', log.epoch],
      ['seqno', log.seqno],
      ['replicas', this.source.senders.size],
      ['lag_ms', lag.ms],
      ['lag_seqno', lag.seqno],
      ['backlog_bytes', log.backlogBytes],
      ['backlog_capacity', log.capacity],
      ['backlog_first_seqno', log.firstSeqno],
      ['backlog_write_rate', Math.round(rate)],
      ['backlog_seconds', rate > 0 ? Math.floor(log.capacity / rate) : -1],
      ['full_syncs', counters.full_syncs],
      ['partial_syncs', counters.partial_syncs],
      ['resumed_syncs', counters.resumed_syncs],
      ['sync_in_progress', replica && link.syncInProgress ? 1 : 0],
      ['sync_refused', link.counters.sync_refused],
      ['backlog_lost', this.source.counters.backlog_lost],
      ['apply_failed', link.counters.apply_failed],
      ['stale_epoch_refused', link.counters.stale_epoch],
      ['tls_peer_refused', this.source.counters.tls_peer_refused],
      ['dc_invalidations', this.holds.counters.dc_invalidations],
      ['dc_invalidate_refused', this.holds.counters.dc_invalidate_refused],
      ['dc_held_keys', this.holds.size],
      ['dc_held_records', this.holds.counters.dc_held_records],
      ['history', log.history.map((e) => `${e.id}:${e.start}`).join(',')],
    ]
    rows.push(...this.acks.stats())
    let i = 0
    for (const r of this.source.replicas()) {
      rows.push([`replica${i++}`, `node=${r.node},remote=${r.remote},state=${r.state},acked_seqno=${r.ackedSeqno},lag_seqno=${r.lagSeqno},lag_ms=${r.lagMs}`])
    }
    return rows
  }

  close (): void {
    this.acks.failAll()
    this.link.close()
    this.source.close()
    this.o.store.mutations = null
  }
}
