#!/usr/bin/env node
/**
 * memringctl: operator tool. `topology` prints shards, hosts, roles and DCs;
 * `route KEY...` prints `KEY HOST:PORT` per key (`-` reads keys from standard input, one
 * a line), or with --explain where each goes and why. Reads ZooKeeper (--zk, --cluster)
 * or a static --servers list (the placement memring-proxy --servers uses).
 */
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../lib/app/config.js'
import { placementOptions, proxyOptions } from '../lib/app/proxy-options.js'
import { clusterStatus, formatStatus } from '../lib/app/status.js'
import { clusterPlacement, explainRoute, failover, formatTopology, readProxies, readTopology, routeKeys, setClusterPlacement, type CtlSource } from '../lib/app/ctl-app.js'

interface Src { zk?: string, cluster?: string, servers?: string }
interface RouteOpts extends Src { hash?: string, keyHash?: string, hashTag?: string, explain?: boolean }

async function readStdinKeys (): Promise<string[]> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '')
}

function source (o: Src): CtlSource {
  // Same validation as memring-proxy's flags.
  const t = proxyOptions({ zk: o.zk, cluster: o.cluster, servers: o.servers }).topology
  return t.kind === 'zk' ? { kind: 'zk', zk: t.zk, cluster: t.cluster } : { kind: 'static', servers: [...t.servers] }
}

function dcName (dc: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(dc)) throw new ConfigError(`--dc: '${dc}' must be 1-128 characters of A-Z a-z 0-9 . _ - (not starting with . or -)`)
  return dc
}

function title (src: CtlSource): string {
  return src.kind === 'zk' ? `cluster ${src.cluster} at ${src.zk}` : `static servers ${src.servers.map((s) => `${s.host}:${s.port}`).join(',')}`
}

const program = new Command('memringctl')
  .description('inspect a memring cluster')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })

const withSource = (c: Command): Command => c
  .option('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...]')
  .option('--cluster <name>', 'cluster name (with --zk)')
  .option('--servers <list>', 'static HOST[:PORT],... list instead of ZooKeeper')

withSource(program.command('topology').description('print shards, hosts, roles and DCs'))
  .action(async (o: Src) => {
    const src = source(o)
    process.stdout.write(formatTopology(await readTopology(src), title(src)) + '\n')
  })

program.command('status')
  .description('every shard: epoch, master, replicas and followers with DC and replication lag (from ZooKeeper)')
  .requiredOption('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...]')
  .requiredOption('--cluster <name>', 'cluster name')
  .option('--json', 'print the status as one JSON object')
  .option('--watch [seconds]', 'redraw every N seconds (default 2) until interrupted')
  .action(async (o: Src & { json?: boolean, watch?: string | boolean }) => {
    const src = source({ zk: o.zk, cluster: o.cluster })
    if (src.kind !== 'zk') throw new ConfigError('status needs --zk and --cluster')
    const every = o.watch === undefined || o.watch === false ? 0 : o.watch === true ? 2 : Number(o.watch)
    if (!(every >= 0 && every <= 3600)) throw new ConfigError(`--watch: '${String(o.watch)}' is not a number of seconds (0 .. 3600)`)
    for (;;) {
      const [topo, proxies] = await Promise.all([readTopology(src), readProxies(src.zk, src.cluster)])
      const st = clusterStatus(src.cluster, topo, proxies)
      const text = o.json === true ? JSON.stringify(st) : formatStatus(st)
      // --watch: clear the screen (ANSI) before each redraw on a terminal; JSON lines otherwise.
      process.stdout.write((every > 0 && o.json !== true && process.stdout.isTTY ? '\x1b[H\x1b[2J' : '') + text + '\n')
      if (every === 0) return
      await new Promise((resolve) => setTimeout(resolve, every * 1000))
    }
  })

withSource(program.command('route')
  .argument('<key...>', 'keys (- reads more keys from standard input, one a line)')
  .description('print KEY HOST:PORT for each key: the host its writes go to (--explain: the steps that decide it)')
  .option('--hash <method>', 'ketama (default), ketama-twemproxy, ketama-unweighted or jump, as memring-proxy --hash')
  .option('--key-hash <hash>', 'key hash for ketama-twemproxy / ketama-unweighted, as memring-proxy --key-hash')
  .option('--hash-tag <xy>', 'hash tag, e.g. "{}", as memring-proxy --hash-tag')
  .option('--explain', 'print the hash, ring point, shard and host of each key'))
  .action(async (args: string[], o: RouteOpts) => {
    const src = source(o)
    const placement = placementOptions(o)
    const keys: string[] = []
    for (const a of args) keys.push(...(a === '-' ? await readStdinKeys() : [a]))
    const topo = await readTopology(src)
    const text = o.explain === true
      ? keys.map((k) => explainRoute(topo, src, k, placement)).join('\n')
      : routeKeys(topo, src, keys, placement)
    if (text !== '') process.stdout.write(text + '\n')
  })

const config = program.command('config').description('the cluster\'s settings in ZooKeeper (/config): the hashing method every proxy and client uses')
config.command('show', { isDefault: true })
  .description('print the cluster\'s placement setting')
  .requiredOption('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...]')
  .requiredOption('--cluster <name>', 'cluster name')
  .action(async (o: Src) => {
    const src = source(o)
    process.stdout.write(clusterPlacement(await readTopology(src)) + '\n')
  })
config.command('set')
  .description('set the cluster\'s hashing method (every proxy and client follows it; keys move: prints how many, applies only with --yes)')
  .requiredOption('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...]')
  .requiredOption('--cluster <name>', 'cluster name')
  .requiredOption('--hash <method>', 'ketama, ketama-twemproxy, ketama-unweighted or jump')
  .option('--key-hash <hash>', 'key hash for ketama-twemproxy / ketama-unweighted')
  .option('--hash-tag <xy>', 'hash tag, e.g. "{}"')
  .option('--yes', 'apply it (without: print the warning only, change nothing, exit 1)')
  .action(async (o: RouteOpts & { yes?: boolean }) => {
    const src = source(o)
    if (src.kind !== 'zk') throw new ConfigError('config set needs --zk and --cluster')
    const r = await setClusterPlacement(src.zk, src.cluster, placementOptions(o), o.yes === true)
    process.stdout.write(r.text + '\n')
    if (!r.applied) process.exitCode = 1
  })

program.command('failover')
  .description('planned master switchover of one shard: no acknowledged write is lost')
  .requiredOption('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...]')
  .requiredOption('--cluster <name>', 'cluster name')
  .requiredOption('--shard <id>', 'the shard')
  .option('--to <host:port>', 'the replica to hand over to (default: the most up-to-date in-sync replica)')
  .option('--timeout <ms>', 'give up after this long', '15000')
  .action(async (o: { zk: string, cluster: string, shard: string, to?: string, timeout: string }) => {
    const src = source({ zk: o.zk, cluster: o.cluster })
    if (src.kind !== 'zk') throw new ConfigError('failover needs --zk and --cluster')
    process.stdout.write(await failover(src.zk, src.cluster, o.shard, o.to ?? '', Number(o.timeout)) + '\n')
  })

program.command('promote')
  .description('move a shard\'s home DC: a follower there becomes master (epoch bump), the old DC follows; no acknowledged write is lost')
  .requiredOption('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...]')
  .requiredOption('--cluster <name>', 'cluster name')
  .requiredOption('--shard <id>', 'the shard')
  .requiredOption('--dc <name>', 'the new home DC')
  .option('--to <host:port>', 'the host of that DC to make master (default: the most up-to-date in-sync one streaming from the master)')
  .option('--timeout <ms>', 'give up after this long (the home DC is moved back)', '15000')
  .action(async (o: { zk: string, cluster: string, shard: string, dc: string, to?: string, timeout: string }) => {
    const src = source({ zk: o.zk, cluster: o.cluster })
    if (src.kind !== 'zk') throw new ConfigError('promote needs --zk and --cluster')
    process.stdout.write(await failover(src.zk, src.cluster, o.shard, o.to ?? '', Number(o.timeout), dcName(o.dc)) + '\n')
  })

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2)
  if (err instanceof ConfigError) { process.stderr.write(`memringctl: ${err.message}\n`); process.exit(2) }
  const e = err as { code?: string, message?: string }
  if (typeof e.code === 'string' && e.code.startsWith('MEMRING_ERR_CLUSTER_')) {
    process.stderr.write(`memringctl: ${e.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`memringctl: fatal: ${String((err as Error)?.stack ?? err)}\n`)
  process.exit(1)
})
