// compat-tests/chaos/cluster.ts
/**
 * The cluster under test, all real processes on loopback: a standalone ZooKeeper, shard
 * s1 on three memring hosts (each reaching ZooKeeper through its own TcpRelay, so one
 * host's ZooKeeper link can be frozen while clients still reach it), shard s2 on one host,
 * and memring-proxy. A ClusterProbe watches the host records from outside.
 *
 *   election mode (default)  no --role: the hosts of s1 elect their master (--role auto)
 *   static roles             s1's first host --role master, the others --role replica
 *                            (today's main, before election lands)
 */
import net from 'node:net'
import { ChildServer, MEMRING_BIN, PROXY_BIN } from '../../lib/testing/memring-process.js'
import { ClusterProbe, now } from '../../lib/testing/cluster-probe.js'
import { startRelay, type TcpRelay } from '../../lib/testing/tcp-relay.js'
import { freePort, startZooKeeper, type Teardown, type ZooKeeperCluster } from '../../lib/testing/zookeeper.js'

export const FAULTED_SHARD = 's1'
export const OTHER_SHARD = 's2'

export interface ClusterOptions {
  name: string
  sessionMs: number
  memoryMb: number
  staticRoles: boolean
  /** --min-replicas-to-ack for s1's hosts; null: flag not passed (server default). */
  acks: number | null
  /** Bound for every wait on the cluster (start-up, settling). */
  waitMs: number
  /** -v for the hosts (info-level logs: syncs, elections), kept with --keep-logs. */
  hostVerbose?: boolean
}

export interface Host {
  /** Index in s1 (0..2) or -1 for s2's host. */
  index: number
  server: ChildServer
  relay: TcpRelay | null
  readonly address: string
}

export class Teardowns implements Teardown {
  #fns: Array<() => unknown> = []
  teardown (fn: () => unknown): void { this.#fns.push(fn) }
  async run (): Promise<void> {
    const fns = this.#fns.reverse()
    this.#fns = []
    for (const f of fns) { try { await f() } catch {} }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `cond` every `everyMs` until true or `timeoutMs`; resolves with success. */
export async function until (cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<boolean> {
  const deadline = now() + timeoutMs
  for (;;) {
    try { if (await cond()) return true } catch {}
    if (now() >= deadline) return false
    await sleep(everyMs)
  }
}

/** `stats <group>` as a map, or null when the host does not answer within timeoutMs. */
export function statsOf (port: number, group = '', timeoutMs = 1000): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let buf = ''
    const done = (v: Record<string, string> | null): void => { clearTimeout(t); s.destroy(); resolve(v) }
    const t = setTimeout(() => done(null), timeoutMs)
    s.on('connect', () => s.write(group === '' ? 'stats\r\n' : `stats ${group}\r\n`))
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1')
      if (!buf.endsWith('END\r\n')) return
      const out: Record<string, string> = {}
      for (const line of buf.split('\r\n')) {
        const m = /^STAT (\S+) ?(.*)$/.exec(line)
        if (m !== null) out[m[1]!] = m[2]!
      }
      done(out)
    })
    s.on('error', () => done(null))
  })
}

/** Whether the built memring knows a flag (its --help lists it). */
export async function memringKnowsFlag (flag: string): Promise<boolean> {
  const { spawnSync } = await import('node:child_process')
  const r = spawnSync(process.execPath, [MEMRING_BIN, '--help'], { encoding: 'utf8', timeout: 20_000 })
  return r.stdout.includes(flag)
}

export class ChaosCluster {
  readonly o: ClusterOptions
  readonly td: Teardowns
  zk!: ZooKeeperCluster
  s1: Host[] = []
  s2!: Host
  proxy!: ChildServer
  probe!: ClusterProbe

  /** stderr (pino JSON lines) of every incarnation of every host, by address. */
  readonly logs = new Map<string, string>()

  constructor (o: ClusterOptions, td: Teardowns) { this.o = o; this.td = td }

  /** Keeps what a host logged so far (call before it is restarted, and at the end). */
  keepLog (h: Host): void {
    this.logs.set(h.address, (this.logs.get(h.address) ?? '') + h.server.stderr)
    h.server.stderr = ''
  }

  /** Starts a host again at the same address with the same flags (empty: memory only). */
  async restart (h: Host): Promise<void> {
    this.keepLog(h)
    await h.server.start(this.o.waitMs)
  }

  #hostArgs (port: number, zk: string, shard: string, role: string | null, acks: boolean): string[] {
    return ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', String(this.o.memoryMb),
      '--zk', zk, '--cluster', this.o.name, '--shard', shard, '--zk-session-timeout', String(this.o.sessionMs),
      ...(role !== null ? ['--role', role] : []),
      ...(this.o.hostVerbose === true ? ['-v'] : []),
      ...(acks && this.o.acks !== null ? ['--min-replicas-to-ack', String(this.o.acks)] : [])]
  }

  async #startHost (index: number, shard: string, relay: TcpRelay | null, role: string | null, acks: boolean): Promise<Host> {
    const port = await freePort()
    const zk = relay !== null ? relay.address : this.zk.connectString
    const server = new ChildServer(MEMRING_BIN, port, this.#hostArgs(port, zk, shard, role, acks))
    this.td.teardown(() => server.kill())
    await server.start(this.o.waitMs)
    return { index, server, relay, get address () { return server.address } }
  }

  async start (): Promise<void> {
    // Test hooks (SIGUSR2: expire our ZooKeeper session) for every host we spawn.
    process.env.MEMRING_TEST_HOOKS = '1'
    this.zk = await startZooKeeper(this.td)
    this.probe = new ClusterProbe(this.zk.connectString, this.o.name)
    await this.probe.start()
    this.td.teardown(() => this.probe.close())
    for (let i = 0; i < 3; i++) {
      const relay = await startRelay(this.td, this.zk.port)
      const role = this.o.staticRoles ? (i === 0 ? 'master' : 'replica') : null
      const h = await this.#startHost(i, FAULTED_SHARD, relay, role, true)
      this.s1.push(h)
      // One at a time: the first becomes the master of a brand-new shard, the others join it.
      const ok = await until(() => this.probe.hosts.has(h.address) && this.probe.primary(FAULTED_SHARD) !== null, this.o.waitMs)
      if (!ok) throw new Error(`s1 host ${h.address} did not register with a master in the shard within ${this.o.waitMs} ms: ${h.server.stderr.slice(-500)}`)
    }
    this.s2 = await this.#startHost(-1, OTHER_SHARD, null, this.o.staticRoles ? 'master' : null, false)
    if (!await until(() => this.probe.primary(OTHER_SHARD) !== null, this.o.waitMs)) throw new Error(`s2 has no master after ${this.o.waitMs} ms`)
    const pport = await freePort()
    this.proxy = new ChildServer(PROXY_BIN, pport, ['-p', String(pport), '-l', '127.0.0.1', '--zk', this.zk.connectString,
      '--cluster', this.o.name, '--zk-session-timeout', String(this.o.sessionMs)])
    this.td.teardown(() => this.proxy.kill())
    await this.proxy.start(this.o.waitMs)
    if (!await this.settle(this.o.waitMs)) throw new Error(`the cluster did not settle after start within ${this.o.waitMs} ms: ${this.lastUnsettled}`)
  }

  hostByAddress (address: string): Host | null {
    return this.s1.find((h) => h.address === address) ?? (this.s2.address === address ? this.s2 : null)
  }

  /** Why the cluster is not settled yet ('' once it is), from the last check. */
  lastUnsettled = ''

  /**
   * '' when s1 has one master (probe) that says so itself, and every other s1 host is
   * registered as a replica of it, online, not syncing, at or past the master's seqno read
   * just before (and s2 has a master); otherwise what is missing.
   */
  async syncState (): Promise<string> {
    const m = this.probe.primary(FAULTED_SHARD)
    if (m === null) return 'no master of s1 in ZooKeeper'
    const recs = this.probe.shard(FAULTED_SHARD)
    if (recs.length !== this.s1.length) return `${recs.length} of ${this.s1.length} s1 hosts registered`
    const masters = recs.filter((r) => r.role === 'master')
    if (masters.length !== 1) return `${masters.length} s1 hosts registered as master (${masters.map((r) => `${r.host}:${r.port}@${r.epoch}`).join(', ')})`
    const mh = this.hostByAddress(`${m.host}:${m.port}`)
    if (mh === null) return `master ${m.host}:${m.port} is not one of ours`
    const ms = await statsOf(mh.server.port, 'replication')
    if (ms === null || ms.role !== 'master') return `master ${mh.address} says role ${ms?.role ?? '(no answer)'}`
    for (const h of this.s1) {
      if (h === mh) continue
      const rec = recs.find((r) => `${r.host}:${r.port}` === h.address)
      const rs = await statsOf(h.server.port, 'replication')
      const says = rs === null
        ? 'stats: no answer'
        : `stats: role ${rs.role}, master ${rs.master}, link ${rs.master_link}, sync_in_progress ${rs.sync_in_progress}, seqno ${rs.seqno} (master's ${ms.seqno}), full_syncs ${rs.full_syncs}, sync_refused ${rs.sync_refused}`
      const registered = rec === undefined ? 'not registered' : `registered as ${rec.role}${rec.repl?.syncInProgress === true ? ' mid sync' : ''} of ${rec.repl?.master ?? '?'}`
      if (rec === undefined || rec.role !== 'replica' || rec.repl?.syncInProgress === true || rs === null ||
        rs.role !== 'replica' || rs.master !== mh.address || rs.master_link !== 'online' || rs.sync_in_progress !== '0' || Number(rs.seqno) < Number(ms.seqno)) {
        return `${h.address} ${registered}; ${says}`
      }
    }
    return this.probe.primary(OTHER_SHARD) !== null ? '' : 'no master of s2'
  }

  /** Waits (bounded) until syncState() is ''; resolves with whether it got there. */
  settle (timeoutMs: number): Promise<boolean> {
    return until(async () => { this.lastUnsettled = await this.syncState(); return this.lastUnsettled === '' }, timeoutMs, 50)
  }

  /** full_syncs of every s1 host that answers (stats replication). */
  async fullSyncs (): Promise<Map<string, { role: string, fullSyncs: number }>> {
    const out = new Map<string, { role: string, fullSyncs: number }>()
    await Promise.all(this.s1.map(async (h) => {
      if (!h.server.running) return
      const st = await statsOf(h.server.port, 'replication')
      if (st !== null) out.set(h.address, { role: st.role ?? '', fullSyncs: Number(st.full_syncs ?? 0) })
    }))
    return out
  }
}
