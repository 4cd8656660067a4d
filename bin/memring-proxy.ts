#!/usr/bin/env node
/**
 * memring-proxy: the routing sidecar. Clients talk to it as to one memcached; it
 * routes every key to its shard, learning the shards from ZooKeeper (--zk), from a
 * static list (--servers), or from a twemproxy config (--twemproxy-config: one proxy per
 * pool, placed as nutcracker places). Options can also come from MEMRING_PROXY_* variables.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { ConfigError } from '../lib/app/config.js'
import { proxyConfigs, type RawProxyOptions } from '../lib/app/proxy-options.js'
import { startProxyApp, type ProxyApp } from '../lib/app/proxy-app.js'
import { createLogger, levelForVerbosity, logFormat } from '../lib/log.js'
import { metricsOptions, type MetricsConfig, type RawMetricsOptions } from '../lib/app/metrics-app.js'

const increase = (_v: string, prev = 0): number => prev + 1

const program = new Command('memring-proxy')
  .description('routing sidecar for a memring cluster, or for memcached servers (memcached text, meta and binary protocols)')
  .helpOption('-h, --help', 'print this help and exit')
  .addOption(new Option('-p, --port <num>', 'TCP port to listen on (0 = any free port; default 11211, or the pool\'s listen: with --twemproxy-config)').env('MEMRING_PROXY_PORT'))
  .addOption(new Option('-l, --listen <addr>', 'address to listen on (default 127.0.0.1, or the pool\'s listen:)').env('MEMRING_PROXY_LISTEN'))
  .addOption(new Option('-s, --unix-socket <path>', 'listen on this unix socket instead of TCP').env('MEMRING_PROXY_UNIX_SOCKET'))
  .addOption(new Option('-a, --unix-mask <mask>', 'permissions of the -s socket file, octal (default 0700)').env('MEMRING_PROXY_UNIX_MASK'))
  .addOption(new Option('--zk <hosts>', 'ZooKeeper ensemble HOST:PORT[,HOST:PORT...] to learn the topology from').env('MEMRING_PROXY_ZK'))
  .addOption(new Option('--cluster <name>', 'cluster name (with --zk)').env('MEMRING_PROXY_CLUSTER'))
  .addOption(new Option('--dc <name>', 'this proxy\'s datacenter (with --zk)').env('MEMRING_PROXY_DC'))
  .addOption(new Option('--servers <list>', 'static HOST[:PORT[:WEIGHT]],... list instead of ZooKeeper (each server is a shard, placed by --hash as that client places it)').env('MEMRING_PROXY_SERVERS'))
  .addOption(new Option('--hash <method>', 'key placement: ketama (libmemcached, MD5), ketama-twemproxy (twemproxy; --key-hash, --hash-tag), ketama-unweighted (libmemcached MEMCACHED_BEHAVIOR_KETAMA alone), jump (jump hash over the list order / shard ids), ch3 (mcrouter\'s furc hash over the list order)').choices(['ketama', 'ketama-twemproxy', 'ketama-unweighted', 'jump', 'ch3']).env('MEMRING_PROXY_HASH'))
  .addOption(new Option('--key-hash <hash>', 'key hash for ketama-twemproxy (default fnv1a_64) or ketama-unweighted (default one_at_a_time): md5, fnv1a_64, fnv1_64, fnv1a_32, fnv1_32, one_at_a_time, crc32a, murmur').env('MEMRING_PROXY_KEY_HASH'))
  .addOption(new Option('--hash-tag <xy>', 'two characters, e.g. "{}": only the part of a key between them is hashed (ketama, ketama-twemproxy)').env('MEMRING_PROXY_HASH_TAG'))
  .addOption(new Option('--bounded-load <c>', 'bounded loads (off by default): a key whose ketama shard has more than c times its share of the requests in flight goes to the next shard clockwise that has not; e.g. 1.25').env('MEMRING_PROXY_BOUNDED_LOAD'))
  .addOption(new Option('--warmup-window <ms>', 'after the ring changes (a shard added, a weight changed), for this long a read of a moved key that misses on its new owner is read through from its previous owner and copied to the new one with its flags and remaining TTL (0: off)').default(undefined, '300000').env('MEMRING_PROXY_WARMUP_WINDOW'))
  .addOption(new Option('--warmup-hit-ratio <r>', 'end the warm-up window early once moved keys hit on their new owner at this ratio (0: only --warmup-window ends it)').default(undefined, '0.98').env('MEMRING_PROXY_WARMUP_HIT_RATIO'))
  .addOption(new Option('--hot-key-threshold <n>', 'reads per second of one key (at this proxy) that make it hot: its reads then go round every copy of its shard; 0 = off').default(undefined, '1000').env('MEMRING_PROXY_HOT_KEY_THRESHOLD'))
  .addOption(new Option('--hot-key-cache', 'serve one-key gets of hot keys from a tiny in-proxy cache (off by default; writes through this proxy drop a key at once, other writers are seen after --hot-key-cache-ttl)').env('MEMRING_PROXY_HOT_KEY_CACHE'))
  .addOption(new Option('--hot-key-cache-ttl <ms>', 'how long a hot key\'s value may be served from the cache (never past the item\'s own exptime)').default(undefined, '100').env('MEMRING_PROXY_HOT_KEY_CACHE_TTL'))
  .addOption(new Option('--hot-key-cache-max-bytes <n>', 'bytes of cached hot-key replies at most').default(undefined, '1048576').env('MEMRING_PROXY_HOT_KEY_CACHE_MAX_BYTES'))
  .addOption(new Option('--twemproxy-config <file>', 'serve the pools of a twemproxy (nutcracker) YAML config with twemproxy\'s placement, instead of --zk/--servers'))
  .addOption(new Option('--mcrouter-config <file>', 'serve an mcrouter JSON config (a PoolRoute, or AllSyncRoute / FailoverRoute over PoolRoutes) with mcrouter\'s Ch3 placement, instead of --zk/--servers (needs -p)'))
  .addOption(new Option('--pool <name>', 'with --twemproxy-config: serve this pool only (default: every pool, each on its listen: address)'))
  .addOption(new Option('-S, --enable-sasl', 'clients must log in with SASL PLAIN (binary protocol only), as memring -S').env('MEMRING_PROXY_ENABLE_SASL'))
  .addOption(new Option('--sasl-pwdb <file>', 'SASL users, user:password lines (default: $MEMCACHED_SASL_PWDB)').env('MEMRING_PROXY_SASL_PWDB'))
  .addOption(new Option('-Y, --auth-file <file>', 'clients must log in with memcached\'s ASCII auth (text protocol only); file of user:password lines, re-read on SIGHUP').env('MEMRING_PROXY_AUTH_FILE'))
  .addOption(new Option('--backend-username <user>', 'the proxy\'s own login on every backend connection (ASCII auth on text connections, SASL PLAIN on binary ones); with --backend-password').env('MEMRING_PROXY_BACKEND_USERNAME'))
  .addOption(new Option('--backend-password <password>', 'password for --backend-username (prefer the environment variable: a flag shows in ps)').env('MEMRING_PROXY_BACKEND_PASSWORD'))
  .addOption(new Option('--encrypt-values <keyfile>', 'encrypt values with AES-256-GCM before they reach a backend, with the key ring in this file (lib/crypto/README.md)').env('MEMRING_PROXY_ENCRYPT_VALUES'))
  .addOption(new Option('--conns-per-host <num>', 'pipelined connections per backend host').default('1'))
  .addOption(new Option('--timeout <ms>', 'backend request timeout').default('1000'))
  .addOption(new Option('--tko-threshold <num>', 'consecutive backend failures that mark a host down').default('3'))
  .addOption(new Option('--zk-session-timeout <ms>', 'ZooKeeper session timeout').default(undefined, '10000'))
  .addOption(new Option('--read-from <where>', 'reads go to any copy of a shard (least loaded, retried on another copy when one fails) or to its master only (read-your-writes)').choices(['any', 'master']).default('any').env('MEMRING_PROXY_READ_FROM'))
  .addOption(new Option('--dc-writes <mode>', 'master: writes go to the shard\'s master only; local-invalidate: a write first drops the key on this DC\'s copies (needs --dc), so a reader here sees a miss or the new value').choices(['master', 'local-invalidate']).default(undefined, 'master').env('MEMRING_PROXY_DC_WRITES'))
  .addOption(new Option('--dc-invalidate-hold <ms>', 'with --dc-writes local-invalidate: how long a local copy holds back replicated records of a key it dropped (over the WAN round trip plus replication lag)').default(undefined, '1000').env('MEMRING_PROXY_DC_INVALIDATE_HOLD'))
  .addOption(new Option('-Z, --enable-ssl', 'TLS for clients, as memring/memcached -Z (certificates from -o ssl_chain_cert=,ssl_key=,...)').env('MEMRING_PROXY_ENABLE_SSL'))
  .addOption(new Option('-o, --extended <opts>', 'memcached\'s ssl_* suboptions for -Z (ssl_chain_cert, ssl_key, ssl_keyformat, ssl_verify_mode, ssl_ca_cert, ssl_ciphers, ssl_min_version)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
  .addOption(new Option('--backend-tls', 'speak TLS to every backend (without it: only to hosts that advertise TLS in ZooKeeper)').env('MEMRING_PROXY_BACKEND_TLS'))
  .addOption(new Option('--backend-tls-ca <file>', 'PEM CA certificates a backend\'s certificate must chain to (default: Node\'s CAs)').env('MEMRING_PROXY_BACKEND_TLS_CA'))
  .addOption(new Option('--backend-tls-cert <file>', 'PEM client certificate the proxy presents to backends (for ssl_verify_mode >= 1)').env('MEMRING_PROXY_BACKEND_TLS_CERT'))
  .addOption(new Option('--backend-tls-key <file>', 'PEM private key of --backend-tls-cert').env('MEMRING_PROXY_BACKEND_TLS_KEY'))
  .addOption(new Option('-c, --conn-limit <num>', 'max simultaneous client connections').default('4096'))
  .addOption(new Option('--log-format <format>', 'log lines as JSON (default; for log pipelines) or pretty (one readable line per event)').choices(['json', 'pretty']).default('json').env('MEMRING_PROXY_LOG_FORMAT'))
  .addOption(new Option('-v, --verbose', 'verbose (repeat for more)').argParser(increase))
  .addOption(new Option('--metrics-port <num>', 'serve Prometheus metrics on GET /metrics at this TCP port (0 = any free port; default: off)').env('MEMRING_PROXY_METRICS_PORT'))
  .addOption(new Option('--metrics-listen <addr>', 'address of the metrics port (default: all interfaces)').env('MEMRING_PROXY_METRICS_LISTEN'))
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })

async function main (): Promise<void> {
  try {
    program.parse(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.code === 'commander.helpDisplayed' ? 0 : 2)
    throw err
  }
  const raw = program.opts() as RawProxyOptions
  let configs
  let metrics: MetricsConfig | null
  try {
    configs = proxyConfigs(raw, (path) => readFileSync(path, 'utf8'))
    metrics = metricsOptions(raw as RawMetricsOptions)
    if (metrics !== null && configs.length > 1) throw new ConfigError('--metrics-port serves one proxy: with --twemproxy-config, choose a pool with --pool')
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`memring-proxy: ${err.message}\nTry 'memring-proxy --help' for more information.\n`)
      process.exit(2)
    }
    throw err
  }
  const log = createLogger(levelForVerbosity(raw.verbose ?? 0), undefined, logFormat((raw as { logFormat?: string }).logFormat) ?? 'json')
  const apps: ProxyApp[] = []
  const closeAll = async (): Promise<void> => { await Promise.all(apps.map(async (a) => await a.close())) }
  let opts = configs[0]!
  try {
    for (const c of configs) {
      opts = c
      apps.push(await startProxyApp(c, c.pool === undefined ? log : log.child({ pool: c.pool }), metrics))
    }
  } catch (err) {
    await closeAll()
    const e = err as NodeJS.ErrnoException
    if (typeof e.code === 'string' && e.code.startsWith('MEMRING_ERR_CLUSTER_')) {
      process.stderr.write(`memring-proxy: cannot read the cluster topology: ${e.message}\n`)
      process.exit(1)
    }
    if (e.code === 'MEMRING_ERR_TLS_LOAD') {
      process.stderr.write(`${e.message}\n`) // memcached's words for a bad -Z file, as memring prints them
      process.exit(2)
    }
    if (typeof e.code === 'string' && (e.code.startsWith('MEMRING_ERR_AUTH_FILE') || e.code.startsWith('MEMRING_ERR_KEYRING'))) {
      process.stderr.write(`memring-proxy: ${e.message}\n`)
      process.exit(1)
    }
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`memring-proxy: failed to listen on port ${opts.port}${opts.pool === undefined ? '' : ` (pool ${opts.pool})`}: ${e.message}\n`)
      process.exit(71)
    }
    throw err
  }
  const stop = (why: string): void => {
    log.info({ why }, 'shutting down')
    setTimeout(() => process.exit(0), 2000).unref()
    void closeAll().then(() => process.exit(0))
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // As memring: the -Y authfile is re-read on SIGHUP; a bad file keeps the previous users.
  process.on('SIGHUP', () => {
    for (const a of apps) {
      try { a.proxy.reloadAuth() } catch (err) { log.error({ err }, 'authfile reload failed; keeping the previous users') }
    }
  })
}

main().catch((err) => {
  process.stderr.write(`memring-proxy: fatal: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
