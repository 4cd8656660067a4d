// lib/testing/zookeeper.ts
/**
 * Starts REAL ZooKeeper servers for tests, from Debian's `zookeeper` package: a
 * standalone server or a 3-node ensemble on free loopback ports, each with a temp
 * data dir. Every server is torn down with the tap test that started it (and
 * killed if the test process exits first). Servers can be stopped, killed and
 * restarted on the same ports and data, for failover tests.
 * Test-only code: unstable API.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const ZK_CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar']
const STANDALONE_MAIN = 'org.apache.zookeeper.server.ZooKeeperServerMain'
const QUORUM_MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain'
// Quick JVM start: C1 only, serial GC, small heap (see ../shared RECIPES "ZooKeeper").
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xms32m', '-Xmx256m']

/** What a helper needs from a tap test: somewhere to register cleanup. */
export interface Teardown { teardown (fn: () => unknown): void }

export interface ZooKeeperOptions {
  /** ZooKeeper tickTime. Sessions are clamped by the server to 2..20 ticks. Default 250 ms. */
  tickMs?: number
  /** Keep the server's stdout/stderr in <dir>/nodeN/out (default: discarded). */
  keepLog?: boolean
  /** Deadline for a server to serve after start. Default 30 s (90 s for an ensemble). */
  startTimeoutMs?: number
}

/** Whether this machine can run the helpers (Java and the Debian jars). */
export function zooKeeperAvailable (): boolean {
  return ZK_CLASSPATH.every((p) => existsSync(p))
}

/** One ZooKeeper server process (a standalone server or one ensemble member). */
export class ZkNode {
  readonly id: number
  readonly port: number
  readonly dir: string
  #mainClass: string
  #keepLog: boolean
  #startTimeoutMs: number
  #proc: ChildProcess | null = null
  #exited: Promise<void> = Promise.resolve()

  constructor (id: number, port: number, dir: string, mainClass: string, keepLog: boolean, startTimeoutMs: number) {
    this.id = id
    this.port = port
    this.dir = dir
    this.#mainClass = mainClass
    this.#keepLog = keepLog
    this.#startTimeoutMs = startTimeoutMs
  }

  get pid (): number | null { return this.#proc?.pid ?? null }
  get running (): boolean { return this.#proc !== null }

  /** Spawn the JVM and wait until `srvr` reports a Mode (ruok answers too early). */
  async start (): Promise<void> {
    if (this.#proc !== null) throw new Error(`zookeeper node ${this.id} already running`)
    this.#spawn()
    await this.waitServing(this.#startTimeoutMs)
  }

  /** Spawn without waiting (ensemble members only serve once a quorum is up). */
  spawnOnly (): void { this.#spawn() }

  #spawn (): void {
    const out = this.#keepLog ? 'pipe' : 'ignore'
    const proc = spawn('java', [...JVM_FLAGS,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp', ZK_CLASSPATH.join(':'), this.#mainClass, join(this.dir, 'zoo.cfg')],
    { stdio: ['ignore', out, out] })
    if (this.#keepLog) {
      const chunks: Buffer[] = []
      proc.stdout?.on('data', (b: Buffer) => chunks.push(b))
      proc.stderr?.on('data', (b: Buffer) => chunks.push(b))
      proc.on('exit', () => { try { writeFileSync(join(this.dir, 'out'), Buffer.concat(chunks)) } catch {} })
    }
    this.#proc = proc
    live.add(proc)
    this.#exited = new Promise((resolve) => {
      proc.once('exit', () => { live.delete(proc); if (this.#proc === proc) this.#proc = null; resolve() })
    })
  }

  async waitServing (timeoutMs: number = this.#startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.#proc === null) throw new Error(`zookeeper node ${this.id} (port ${this.port}) exited before serving; keepLog: true keeps its output`)
      if (await zkMode(this.port, 200) !== null) return
      if (Date.now() > deadline) throw new Error(`zookeeper node ${this.id} not serving on port ${this.port} after ${timeoutMs} ms`)
      await delay(50)
    }
  }

  /** SIGTERM and wait for the process to exit (SIGKILL after 5 s). */
  async stop (): Promise<void> { await this.#signal('SIGTERM') }
  /** SIGKILL and wait for the process to exit. */
  async kill (): Promise<void> { await this.#signal('SIGKILL') }

  async #signal (sig: NodeJS.Signals): Promise<void> {
    const proc = this.#proc
    if (proc === null) return
    proc.kill(sig)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await this.#exited
    clearTimeout(timer)
  }
}

/** A running standalone server or ensemble. */
export class ZooKeeperCluster {
  readonly nodes: readonly ZkNode[]
  readonly root: string
  constructor (nodes: ZkNode[], root: string) { this.nodes = nodes; this.root = root }
  /** "127.0.0.1:p1,127.0.0.1:p2,..." for clients. */
  get connectString (): string { return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') }
  /** Port of the first node (the only one for a standalone server). */
  get port (): number { return this.nodes[0]!.port }
  async stop (): Promise<void> { await Promise.all(this.nodes.map((n) => n.stop())) }
  async kill (): Promise<void> { await Promise.all(this.nodes.map((n) => n.kill())) }
  /** Start every stopped node again (same ports, same data) and wait until all serve. */
  async restart (): Promise<void> {
    const stopped = this.nodes.filter((n) => !n.running)
    for (const n of stopped) n.spawnOnly()
    await Promise.all(stopped.map((n) => n.waitServing()))
  }
  /** Ensemble: the node currently leading (null if none). */
  async leader (): Promise<ZkNode | null> {
    for (const n of this.nodes) if (n.running && await zkMode(n.port, 300) === 'leader') return n
    return null
  }
  async close (): Promise<void> {
    await this.kill()
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** A standalone ZooKeeper on 127.0.0.1:<free port>; closed at the end of `t`. */
export async function startZooKeeper (t: Teardown, opts: ZooKeeperOptions = {}): Promise<ZooKeeperCluster> {
  const root = mkdtempSync(join(tmpdir(), 'memring-zk-'))
  const port = await freePort()
  const dir = writeConfig(root, 1, port, opts.tickMs ?? 250, null)
  const node = new ZkNode(1, port, dir, STANDALONE_MAIN, opts.keepLog ?? false, opts.startTimeoutMs ?? 30_000)
  const zk = new ZooKeeperCluster([node], root)
  t.teardown(() => zk.close())
  await node.start()
  return zk
}

/** A 3-node ensemble on loopback (client, quorum and election ports all free). */
export async function startZooKeeperEnsemble (t: Teardown, opts: ZooKeeperOptions = {}): Promise<ZooKeeperCluster> {
  const root = mkdtempSync(join(tmpdir(), 'memring-zk-'))
  const ports: number[] = []
  while (ports.length < 9) {
    const p = await freePort()
    if (!ports.includes(p)) ports.push(p)
  }
  const peers = [1, 2, 3].map((n) => `server.${n}=127.0.0.1:${ports[2 + n]}:${ports[5 + n]}`)
  const nodes = [1, 2, 3].map((n) => new ZkNode(n, ports[n - 1]!,
    writeConfig(root, n, ports[n - 1]!, opts.tickMs ?? 250, peers), QUORUM_MAIN,
    opts.keepLog ?? false, opts.startTimeoutMs ?? 90_000))
  const zk = new ZooKeeperCluster(nodes, root)
  t.teardown(() => zk.close())
  for (const n of nodes) n.spawnOnly()
  await Promise.all(nodes.map((n) => n.waitServing()))
  return zk
}

function writeConfig (root: string, id: number, port: number, tickMs: number, peers: string[] | null): string {
  const dir = join(root, `node${id}`)
  mkdirSync(join(dir, 'data'), { recursive: true })
  const lines = [
    `tickTime=${tickMs}`, 'initLimit=10', 'syncLimit=5',
    `dataDir=${join(dir, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1',
    'admin.enableServer=false', '4lw.commands.whitelist=*', 'maxClientCnxns=0',
    // The default cap is 20 ticks (5 s at 250 ms); a restart test needs a session that
    // outlives a JVM start on a loaded machine.
    'maxSessionTimeout=60000',
    // Small snapshots/logs: tests restart servers on the same data.
    'preAllocSize=4096', 'snapCount=10000',
  ]
  if (peers !== null) {
    writeFileSync(join(dir, 'data', 'myid'), `${id}\n`)
    lines.push(...peers)
  }
  writeFileSync(join(dir, 'zoo.cfg'), lines.join('\n') + '\n')
  return dir
}

/**
 * `srvr` four-letter word: the server's Mode (standalone, leader, follower) or null
 * when it does not serve yet. Short timeout: while the JVM starts, the kernel
 * accepts connections that nothing answers.
 */
export function zkMode (port: number, timeoutMs = 500): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    let done = false
    const finish = (v: string | null): void => { if (!done) { done = true; clearTimeout(timer); sock.destroy(); resolve(v) } }
    const timer = setTimeout(() => finish(null), timeoutMs)
    sock.on('connect', () => sock.write('srvr'))
    sock.on('data', (b: Buffer) => chunks.push(b))
    sock.on('error', () => finish(null))
    sock.on('close', () => {
      const m = /^Mode: (\S+)/m.exec(Buffer.concat(chunks).toString('latin1'))
      finish(m === null ? null : m[1]!)
    })
  })
}

/** A loopback TCP port that was free a moment ago. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function delay (ms: number): Promise<void> { return new Promise((resolve) => setTimeout(resolve, ms)) }

// JVMs must not outlive a test process that dies without running its teardowns.
const live = new Set<ChildProcess>()
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL') } catch {} } })

/**
 * Try to resume a session from its id and password, as a client that lost its link
 * would. 'expired': the server has ended it (it can never be rejoined); 'joined': it is
 * still alive (and the probe's close then ends it: a test that gets 'joined' has failed
 * anyway). For tests that claim a session is dead.
 */
export function rejoinSession (connect: string, creds: { id: Buffer, password: Buffer }, timeoutMs = 5000): Promise<'expired' | 'joined'> {
  const lib = createRequire(import.meta.url)('node-zookeeper-client') as {
    createClient (c: string, o: object): { on (ev: string, fn: () => void): void, connect (): void, close (): void, removeAllListeners (): void }
  }
  return new Promise((resolve, reject) => {
    const c = lib.createClient(connect, { sessionTimeout: 30_000, spinDelay: 50, retries: 0, sessionId: creds.id, sessionPassword: creds.password })
    const done = (): void => { clearTimeout(timer); c.removeAllListeners(); try { c.close() } catch {} }
    const timer = setTimeout(() => { done(); reject(new Error(`rejoinSession: no answer within ${timeoutMs} ms`)) }, timeoutMs)
    c.on('expired', () => { done(); resolve('expired') })
    c.on('connected', () => { done(); resolve('joined') })
    c.connect()
  })
}
