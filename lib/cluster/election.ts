// lib/cluster/election.ts
/**
 * ShardElection: who is the master of one shard, decided in ZooKeeper, and the master's
 * lease. Knows ZooKeeper and host records only; what a host does with the outcome (take
 * writes, follow a master) is its owner's business (lib/app/cluster-app.ts).
 *
 *   /shards/<s>/leader   EPHEMERAL {node, epoch, instance} in the master's session: the
 *                        lease. Present: the shard has a master, everybody follows it.
 *                        Gone (session expired, host stopped, hand-over): vacancy.
 *   /shards/<s>/master   PERSISTENT {node, epoch, seqno, at}: the epoch counter. The winner
 *                        bumps it in the same multi that creates /leader, conditional on
 *                        the version it read, so two winners of one epoch cannot exist.
 *
 * On a vacancy every candidate publishes its position (its node record: epoch, seqno,
 * whether it holds a complete copy), waits until every candidate's record has changed
 * since the vacancy (ZooKeeper zxids; at most `settleMs`), reads the shard's records and
 * ranks them the same way:
 *   1. a hand-over target named by the old master (planned switchover), if live and in sync;
 *   2. else the in-sync candidates by (epoch, seqno) highest, then node id lowest;
 *   3. else, when no host of the shard holds a complete copy (a new shard, or every copy
 *      lost), the candidates by node id: the data is gone anyway, somebody must take writes.
 * Only the first tries the multi; the others wait for /leader to appear (and rank again
 * if it does not, as the winner may have died meanwhile).
 *
 * The lease: a master may take writes only while `writable()`. Every `leaseEveryMs` it
 * checks that /leader is still its own; a reply to a request SENT at t proves the session
 * was alive at some point after t, so ZooKeeper cannot expire it before t + session
 * timeout. The lease runs to t + 2/3 session: it lapses at least 1/3 session before anyone
 * else can be elected, whatever the link or the process does (a SIGSTOP past the session
 * timeout wakes up with an expired lease: times come from performance.now(), and no reply
 * that arrives late can extend it, since the lease counts from when its probe was sent).
 *
 * Events: 'lead' (epoch), 'follow' (node, epoch), 'vacant' (), 'fenced' (why), 'home' (homeDc),
 * 'handed' (node: a planned hand-over released the lease to it).
 */
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import { pino, type Logger } from 'pino'
import { ClusterError } from './errors.js'
import {
  decodeHostRecord, decodeLeaderRecord, decodeMasterRecord, decodeShardRecord, decodeSwitchoverRecord, encodeRecord,
  leaderPath, masterPath, nodesPath, shardPath, switchoverPath, type ConfiguredRole, type HostRecord, type SwitchoverRecord,
} from './layout.js'
import { isCandidate } from './dc-roles.js'
import type { ZkOp, ZkSession } from './zk.js'

export interface ElectionOptions {
  /** The host's session (the Registry's): the lease lives and dies with its registration. */
  session: ZkSession
  cluster: string
  shard: string
  nodeId: string
  instance: string
  /**
   * --role and --dc: whether this host may win depends on the shard's home DC
   * (./dc-roles.ts), read from /shards/<s> at every evaluation and watched.
   */
  role: ConfiguredRole
  dc: string
  /** Write this host's node record now (its fresh position). */
  publish: () => Promise<void>
  /**
   * Planned hand-over: resolve true once `target` has every write this master took
   * (writes are refused from the call on), false to give up (writes resume).
   */
  handOver?: (target: string) => Promise<boolean>
  /** Wait after publishing before ranking. Default: session / 10, within [100, 500] ms. */
  settleMs?: number
  log?: Logger
}

export interface Ranked { node: string, epoch: number, seqno: number, inSync: boolean }

/** The election's ranking of a shard's live hosts (pure; see the header). */
export function rankCandidates (hosts: readonly HostRecord[], switchover: SwitchoverRecord | null): Ranked[] {
  // A hand-over target counts even before its record says candidate (a promote to another
  // DC names a follower whose candidacy starts with the new home DC).
  const handedTo = switchover !== null && switchover.state === 'handed' ? switchover.to : null
  const all: Ranked[] = hosts.filter((h) => h.candidate === true || `${h.host}:${h.port}` === handedTo).map((h) => ({
    node: `${h.host}:${h.port}`,
    epoch: h.epoch,
    seqno: h.repl?.seqno ?? 0,
    inSync: h.repl !== undefined && !h.repl.syncInProgress,
  }))
  const inSync = all.filter((r) => r.inSync).sort((a, b) => b.epoch - a.epoch || b.seqno - a.seqno || cmp(a.node, b.node))
  if (handedTo !== null) {
    const i = inSync.findIndex((r) => r.node === handedTo)
    if (i > 0) inSync.unshift(...inSync.splice(i, 1))
  }
  const anyCopy = hosts.some((h) => h.repl !== undefined && !h.repl.syncInProgress)
  if (inSync.length > 0 || anyCopy) return inSync
  return all.sort((a, b) => cmp(a.node, b.node))
}

function cmp (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

export class ShardElection extends EventEmitter {
  readonly counters = { elections: 0, wins: 0, lost_races: 0, lease_lapses: 0, step_downs: 0, hand_overs: 0 }
  #o: ElectionOptions
  #log: Logger
  #leaderPath: string
  #masterPath: string
  #switchPath: string
  #settleMs: number
  #leaseMs: number
  #probeMs: number
  #leading = false
  #epoch = 0
  #leaseUntil = 0
  #handing = false
  #leaseTimer: NodeJS.Timeout | null = null
  #retry: NodeJS.Timeout | null = null
  #running = false
  #again = false
  #closed = false
  #started = false
  #vacant = false
  /** When this host saw the shard's master go (performance.now()), for the `elected` event's ms. */
  #vacantAt = 0
  /** The master we last told our owner to follow. */
  #following = ''
  #followingEpoch = -1
  #homeDc: string | null = null
  #candidate = false

  constructor (o: ElectionOptions) {
    super()
    this.#o = o
    this.#log = (o.log ?? pino({ level: 'silent' })).child({ mod: 'election', shard: o.shard })
    this.#leaderPath = leaderPath(o.cluster, o.shard)
    this.#masterPath = masterPath(o.cluster, o.shard)
    this.#switchPath = switchoverPath(o.cluster, o.shard)
    const session = o.session.sessionTimeoutMs
    this.#settleMs = o.settleMs ?? Math.min(500, Math.max(100, Math.floor(session / 10)))
    this.#leaseMs = Math.floor(session * 2 / 3)
    this.#probeMs = Math.max(20, Math.min(250, Math.floor(session / 12)))
    o.session.on('session', this.#onNewSession)
    o.session.on('expired', this.#onExpired)
    o.session.on('connected', this.#onConnected)
    o.session.on('disconnected', this.#onAway)
    o.session.on('suspect', this.#onAway)
  }

  /** This host holds the lease now: it may take writes. Cheap: one clock read. */
  writable (): boolean {
    if (!this.#leading || this.#handing) return false
    return performance.now() < this.#leaseUntil
  }
  get leading (): boolean { return this.#leading }
  get handingOver (): boolean { return this.#handing }
  /** The epoch this host leads, or the one it follows. */
  get epoch (): number { return this.#leading ? this.#epoch : Math.max(0, this.#followingEpoch) }
  get master (): string { return this.#leading ? this.#o.nodeId : this.#following }
  /** The shard's home DC as last read (null: none recorded). */
  get homeDc (): string | null { return this.#homeDc }
  /** This host may be elected now (its DC is the shard's home; ./dc-roles.ts). */
  get candidate (): boolean { return this.#candidate }

  /** Begin (call once registered; registration events kick it again). */
  start (): void {
    this.#started = true
    this.#kick()
  }

  #onNewSession = (): void => {
    // A new session: the old one's ephemeral /leader is gone (or going) with it.
    if (this.#leading) this.#stepDown('zk session replaced')
    this.#kick()
  }

  #onExpired = (): void => { if (this.#leading) this.#stepDown('zk session expired') }

  /**
   * The link to ZooKeeper dropped or went quiet: the lease lapses now, not when it runs out.
   * A session closed on the server (an operator, or a client that joined it) drops our
   * connection; the others may elect at once, so waiting for the lease to run out could
   * overlap a new master. The same session coming back re-confirms the lease at once.
   */
  #onAway = (): void => {
    if (!this.#leading || this.#leaseUntil === 0) return
    this.#leaseUntil = 0
    this.counters.lease_lapses++
    this.#log.warn({ event: 'fenced', why: 'zk link lost', epoch: this.#epoch }, 'zk link lost: master lease dropped, writes refused until it is confirmed')
    this.emit('fenced', 'zk link lost')
  }

  #onConnected = (): void => {
    if (this.#leading) this.#probe?.()
    this.#kick()
  }

  /** Re-evaluate soon (coalesced, one evaluation at a time). */
  #kick = (): void => {
    if (this.#closed || !this.#started) return
    if (this.#running) { this.#again = true; return }
    this.#running = true
    void this.#evaluate().catch((err) => {
      if (!(err instanceof ClusterError) || !err.retriable) this.#log.warn({ err }, 'election step failed')
      this.#later(this.#settleMs)
    }).finally(() => {
      this.#running = false
      if (this.#again) { this.#again = false; this.#kick() }
    })
  }

  #later (ms: number): void {
    if (this.#retry !== null || this.#closed) return
    this.#retry = setTimeout(() => { this.#retry = null; this.#kick() }, ms)
    this.#retry.unref()
  }

  async #evaluate (): Promise<void> {
    const zk = this.#o.session
    if (this.#closed || !zk.healthy) return
    // The home DC decides candidacy: watched, so a promote re-evaluates at once.
    const shardNode = await zk.getData(shardPath(this.#o.cluster, this.#o.shard), this.#kick)
    const homeDc = decodeShardRecord(shardNode?.data ?? null).homeDc
    const candidate = isCandidate(this.#o.role, this.#o.dc, homeDc)
    if (homeDc !== this.#homeDc || candidate !== this.#candidate) {
      this.#homeDc = homeDc
      this.#candidate = candidate
      this.#log.info({ homeDc, candidate }, 'home DC of the shard')
      this.emit('home', homeDc)
      await this.#o.publish()
    }
    const leader = await zk.getData(this.#leaderPath, this.#kick)
    if (this.#closed) return
    if (leader !== null) {
      const rec = decodeLeaderRecord(leader.data)
      if (leader.stat.ephemeralOwner === zk.sessionId) {
        if (!this.#leading && rec !== null) this.#becomeLeader(rec.epoch, performance.now())
        return
      }
      if (this.#leading) this.#stepDown('another host holds the lease')
      this.#vacant = false
      if (rec === null || rec.node === this.#o.nodeId) {
        // Our own earlier process's lease (a restart at the same address): wait for its
        // session to expire; the deletion fires the watch.
        this.#log.info({ holder: rec?.node }, 'the lease is held by an earlier session of this address; waiting for it to expire')
        return
      }
      if (rec.node !== this.#following || rec.epoch !== this.#followingEpoch) {
        this.#following = rec.node
        this.#followingEpoch = rec.epoch
        this.#log.info({ event: 'following', master: rec.node, epoch: rec.epoch }, 'following the shard master')
        this.emit('follow', rec.node, rec.epoch)
      }
      return
    }
    // Vacant. getData leaves no watch on a missing node: exists does (fires on create).
    if (await zk.exists(this.#leaderPath, this.#kick) !== null) { this.#again = true; return }
    if (this.#leading) this.#stepDown('lease node gone')
    if (!this.#vacant) {
      this.#vacant = true
      this.#vacantAt = performance.now()
      this.#log.warn({ event: 'vacant', last: this.#following }, 'shard has no master: electing')
      this.emit('vacant')
    }
    if (!this.#candidate && !(await this.#handedToMe())) return
    this.counters.elections++
    await this.#o.publish()
    // Settle: rank once every candidate has published after the vacancy (its record
    // changed after the lease node went: mzxid past the shard node's pzxid), or after
    // settleMs, whichever comes first.
    const since = shardNode?.stat.pzxid ?? 0n
    const deadline = performance.now() + this.#settleMs
    let hosts: HostRecord[]
    for (;;) {
      const seen = await this.#shardHosts()
      hosts = seen.map((h) => h.rec)
      if (this.#closed || !zk.healthy) return
      if (seen.every((h) => h.rec.candidate !== true || h.mzxid > since) || performance.now() >= deadline) break
      await sleep(Math.min(25, Math.max(1, deadline - performance.now())))
    }
    const [master, sw] = await Promise.all([zk.getData(this.#masterPath), zk.getData(this.#switchPath)])
    const switchover = sw === null ? null : decodeSwitchoverRecord(sw.data)
    const ranked = rankCandidates(hosts, switchover)
    const winner = ranked[0]
    if (winner === undefined || winner.node !== this.#o.nodeId) {
      this.#log.info({ winner: winner?.node ?? null, ranked: ranked.slice(0, 4) }, 'not first in the ranking; waiting for the winner')
      // The winner may die before it takes the lease: rank again if nobody does.
      this.#later(this.#settleMs * 5)
      return
    }
    const prev = master === null ? null : decodeMasterRecord(master.data)
    const epoch = (prev?.epoch ?? 0) + 1
    const me = hosts.find((h) => `${h.host}:${h.port}` === this.#o.nodeId)
    const masterRec = encodeRecord({ node: this.#o.nodeId, epoch, seqno: me?.repl?.seqno ?? 0, at: Date.now() })
    const ops: ZkOp[] = [
      master === null
        ? { op: 'create', path: this.#masterPath, data: masterRec }
        : { op: 'setData', path: this.#masterPath, data: masterRec, version: master.stat.version },
      { op: 'create', path: this.#leaderPath, data: encodeRecord({ node: this.#o.nodeId, epoch, instance: this.#o.instance }), mode: 'ephemeral' },
    ]
    if (sw !== null) ops.push({ op: 'remove', path: this.#switchPath, version: sw.stat.version })
    const sent = performance.now()
    try {
      await zk.multi(ops)
    } catch (err) {
      if (err instanceof ClusterError && (err.zkCode === 'NODE_EXISTS' || err.zkCode === 'BAD_VERSION' || err.zkCode === 'NO_NODE')) {
        this.counters.lost_races++
        this.#log.info({ code: err.zkCode }, 'another host won the election')
        this.#again = true
        return
      }
      throw err
    }
    this.counters.wins++
    // No wait before taking writes: the old master's lease is already over. A session that
    // timed out was silent for a whole session (the lease is 2/3); a session ended without
    // a timeout was joined by another client with its credentials (the only way besides its
    // own close), and ZooKeeper first closes the old connection (CLIENT_RECONNECT), on
    // which the old master drops its lease (#onAway) before the session can be closed.
    this.#log.info({ event: 'elected', epoch, seqno: me?.repl?.seqno ?? 0, ms: this.#vacantAt === 0 ? 0 : Math.round(performance.now() - this.#vacantAt), ranked: ranked.slice(0, 4) }, 'elected master')
    this.#becomeLeader(epoch, sent)
  }

  /** A planned hand-over (a promote to this host's DC) named this host. */
  async #handedToMe (): Promise<boolean> {
    const sw = await this.#o.session.getData(this.#switchPath)
    const rec = sw === null ? null : decodeSwitchoverRecord(sw.data)
    return rec !== null && rec.state === 'handed' && rec.to === this.#o.nodeId
  }

  /** The live host records of this shard, read fresh (not from a debounced snapshot). */
  async #shardHosts (): Promise<Array<{ rec: HostRecord, mzxid: bigint }>> {
    const zk = this.#o.session
    const dir = nodesPath(this.#o.cluster)
    const names = await zk.getChildren(dir) ?? []
    const recs = await Promise.all(names.map(async (n) => {
      const got = await zk.getData(`${dir}/${n}`)
      const rec = got === null ? null : decodeHostRecord(got.data)
      return rec === null || got === null ? null : { rec, mzxid: got.stat.mzxid }
    }))
    return recs.filter((r): r is { rec: HostRecord, mzxid: bigint } => r !== null && r.rec.shard === this.#o.shard)
  }

  #becomeLeader (epoch: number, sentAt: number): void {
    this.#leading = true
    this.#vacant = false
    this.#handing = false
    this.#epoch = epoch
    this.#following = ''
    this.#followingEpoch = epoch
    this.#leaseUntil = sentAt + this.#leaseMs
    this.#armLease()
    this.#watchSwitchover()
    this.emit('lead', epoch)
  }

  #stepDown (why: string): void {
    if (!this.#leading) return
    this.#leading = false
    this.#handing = false
    this.#leaseUntil = 0
    this.counters.step_downs++
    this.#probe = null
    if (this.#leaseTimer !== null) { clearInterval(this.#leaseTimer); this.#leaseTimer = null }
    this.#log.warn({ event: 'fenced', why, epoch: this.#epoch }, 'no longer master: writes refused')
    this.emit('fenced', why)
  }

  /** Runs one lease probe now (set while leading). */
  #probe: (() => void) | null = null

  #armLease (): void {
    if (this.#leaseTimer !== null) clearInterval(this.#leaseTimer)
    let inFlight = false
    let lapsed = false
    const probe = (): void => {
      if (!this.#leading) return
      if (!lapsed && performance.now() >= this.#leaseUntil) {
        lapsed = true
        if (this.#leaseUntil !== 0) {
          this.counters.lease_lapses++
          this.#log.warn({ event: 'fenced', why: 'lease lapsed', epoch: this.#epoch }, 'master lease lapsed (ZooKeeper not confirming): writes refused')
          this.emit('fenced', 'lease lapsed')
        }
      }
      if (inFlight) return
      inFlight = true
      const sent = performance.now()
      const zk = this.#o.session
      zk.exists(this.#leaderPath).then((stat) => {
        if (!this.#leading) return
        if (stat !== null && stat.ephemeralOwner === zk.sessionId) {
          // Only a healthy link extends the lease (a reply racing a drop does not).
          if (!zk.healthy) return
          this.#leaseUntil = Math.max(this.#leaseUntil, sent + this.#leaseMs)
          if (lapsed && performance.now() < this.#leaseUntil) {
            lapsed = false
            this.#log.info({ epoch: this.#epoch }, 'master lease confirmed again')
            this.emit('lead', this.#epoch)
          }
        } else {
          this.#stepDown(stat === null ? 'lease node gone' : 'lease node owned by another session')
          this.#kick()
        }
      }, () => {}).finally(() => { inFlight = false })
    }
    this.#probe = probe
    this.#leaseTimer = setInterval(probe, this.#probeMs)
    this.#leaseTimer.unref()
  }

  /** The master watches /switchover: `memringctl failover` writes it. */
  #watchSwitchover (): void {
    if (!this.#leading || this.#closed) return
    const zk = this.#o.session
    // exists() leaves a watch whether or not the node is there (getData only when it is).
    zk.exists(this.#switchPath, () => this.#watchSwitchover()).then(async (stat) => {
      if (stat === null || !this.#leading || this.#handing) return
      const got = await zk.getData(this.#switchPath)
      if (got === null || !this.#leading || this.#handing) return
      const sw = decodeSwitchoverRecord(got.data)
      if (sw === null || sw.state !== 'requested') return
      await this.#handOver(sw.to, got.stat.version, sw.dc ?? null)
    }).catch(() => {})
  }

  async #handOver (requested: string, version: number, dc: string | null): Promise<void> {
    const zk = this.#o.session
    const hosts = (await this.#shardHosts()).map((h) => h.rec).filter((h) => `${h.host}:${h.port}` !== this.#o.nodeId)
    // A promote (dc set) moves the shard to that DC: its hosts are not candidates yet, so
    // rank them all, those streaming straight from this master first (the DC's head: only
    // a direct stream lets this master see the target catch up).
    const ranked = dc === null
      ? rankCandidates(hosts, null).filter((r) => r.inSync)
      : rankCandidates(hosts.filter((h) => h.dc === dc && h.role !== 'master').map((h) => ({ ...h, candidate: true })), null)
        .filter((r) => r.inSync)
        .sort((a, b) => Number(this.#direct(hosts, b.node)) - Number(this.#direct(hosts, a.node)))
    const target = requested !== '' ? ranked.find((r) => r.node === requested) : ranked[0]
    const epoch = this.#epoch
    if (target === undefined) {
      this.#log.warn({ requested }, 'switchover refused: no in-sync replica to hand over to')
      await zk.setData(this.#switchPath, encodeRecord({ to: requested, epoch, state: 'requested', at: Date.now() }), version).catch(() => {})
      await zk.remove(this.#switchPath).catch(() => {})
      return
    }
    this.#handing = true
    this.#log.info({ to: target.node, epoch }, 'switchover: writes paused until the target has them all')
    const ok = this.#o.handOver === undefined ? false : await this.#o.handOver(target.node)
    if (!ok || !this.#leading) {
      this.#handing = false
      this.#log.warn({ to: target.node }, 'switchover abandoned: the target did not catch up in time; writes resume')
      await zk.remove(this.#switchPath).catch(() => {})
      return
    }
    try {
      await zk.multi([
        { op: 'setData', path: this.#switchPath, data: encodeRecord({ to: target.node, epoch, state: 'handed', at: Date.now(), ...(dc === null ? {} : { dc }) }), version },
        { op: 'remove', path: this.#leaderPath, version: -1 },
      ])
    } catch (err) {
      this.#handing = false
      this.#log.warn({ err }, 'switchover failed in ZooKeeper; writes resume')
      return
    }
    this.counters.hand_overs++
    this.emit('handed', target.node)
    this.#stepDown(`handed over to ${target.node}`)
    this.#kick()
  }

  #direct (hosts: readonly HostRecord[], node: string): boolean {
    return hosts.some((h) => `${h.host}:${h.port}` === node && h.repl?.master === this.#o.nodeId)
  }

  close (): void {
    this.#closed = true
    if (this.#leaseTimer !== null) clearInterval(this.#leaseTimer)
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#leading = false
    this.#o.session.off('session', this.#onNewSession)
    this.#o.session.off('expired', this.#onExpired)
    this.#o.session.off('connected', this.#onConnected)
    this.#o.session.off('disconnected', this.#onAway)
    this.#o.session.off('suspect', this.#onAway)
  }
}

function sleep (ms: number): Promise<void> { return new Promise((resolve) => setTimeout(resolve, ms).unref()) }
