#!/usr/bin/env node
/**
 * memring: a memcached-compatible cache host. Flags are memcached's (same letters, same
 * meanings), so `memring -p 11211 -m 64` runs where `memcached -p 11211 -m 64` ran.
 * Every option can also come from a MEMRING_* environment variable (see README).
 */
import { Command, CommanderError, Option } from 'commander'
import { ConfigError, serverSettings } from '../lib/app/config.js'
import type { RawServerOptions } from '../lib/app/config.js'
import { startServerApp, verboseLine } from '../lib/app/server-app.js'
import { installTestHooks } from '../lib/app/test-hooks.js'
import { daemonize, isDaemonChild } from '../lib/app/daemonize.js'
import { clusterOptions } from '../lib/app/cluster-options.js'
import type { RawClusterOptions } from '../lib/app/cluster-options.js'
import { createLogger, levelForVerbosity, logFormat } from '../lib/log.js'
import { replicationOptions } from '../lib/app/replication-app.js'
import type { RawReplicationOptions } from '../lib/app/replication-app.js'
import { defaultSettings } from '../lib/server/settings.js'
import { metricsOptions, type RawMetricsOptions } from '../lib/app/metrics-app.js'

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]
const increase = (_v: string, prev = 0): number => prev + 1

const program = new Command('memring')
  .description('memcached-compatible cache server (text, meta and binary protocols)')
  .version(`memring ${defaultSettings().version}`, '-V, --version', 'print version and exit')
  .helpOption('-h, --help', 'print this help and exit')
  .addOption(new Option('-p, --port <num>', 'TCP port to listen on (0 = any free port)').default('11211').env('MEMRING_PORT'))
  .addOption(new Option('-U, --udp-port <num>', 'UDP port (accepted for compatibility; 0 = off, UDP is not served)').default('0').env('MEMRING_UDP_PORT'))
  .addOption(new Option('-l, --listen <addr>', 'interface to listen on (repeatable or comma-separated; default: all)').argParser(collect).env('MEMRING_LISTEN'))
  .addOption(new Option('-m, --memory-limit <mb>', 'item memory in megabytes').default('64').env('MEMRING_MEMORY_LIMIT'))
  .addOption(new Option('-M, --disable-evictions', 'return an error when memory is exhausted instead of evicting').env('MEMRING_DISABLE_EVICTIONS'))
  .addOption(new Option('-c, --conn-limit <num>', 'max simultaneous connections').default('1024').env('MEMRING_CONN_LIMIT'))
  .addOption(new Option('-t, --threads <num>', 'worker threads (accepted; memring serves from one event loop, run one process per core)').default('4').env('MEMRING_THREADS'))
  .addOption(new Option('-I, --max-item-size <size>', 'max item size (bytes, or k/m suffix; 1024 .. 1g)').default('1m').env('MEMRING_MAX_ITEM_SIZE'))
  .addOption(new Option('-f, --slab-growth-factor <factor>', 'chunk size growth factor').default('1.25').env('MEMRING_SLAB_GROWTH_FACTOR'))
  .addOption(new Option('-n, --slab-min-size <bytes>', 'min space for key+value+flags').default('48').env('MEMRING_SLAB_MIN_SIZE'))
  .addOption(new Option('-C, --disable-cas', 'disable use of CAS').env('MEMRING_DISABLE_CAS'))
  .addOption(new Option('-A, --enable-shutdown', 'enable the ascii "shutdown" command').env('MEMRING_ENABLE_SHUTDOWN'))
  .addOption(new Option('-F, --disable-flush-all', 'disable flush_all').env('MEMRING_DISABLE_FLUSH_ALL'))
  .addOption(new Option('--log-format <format>', 'log lines as JSON (default; for log pipelines) or pretty (one readable line per event)').choices(['json', 'pretty']).default('json').env('MEMRING_LOG_FORMAT'))
  .addOption(new Option('--conn-output-limit <size>', 'unsent reply bytes per connection past which it is not read until the client catches up (bytes, or k/m suffix)').default(undefined, '64k').env('MEMRING_CONN_OUTPUT_LIMIT'))
  .addOption(new Option('-v, --verbose', 'verbose (repeat for more: -vv, -vvv)').argParser(increase))
  .addOption(new Option('-b, --listen-backlog <num>', 'TCP listen backlog').default('1024'))
  .addOption(new Option('-R, --max-reqs-per-event <num>', 'accepted for compatibility').default('20'))
  .addOption(new Option('-B, --protocol <name>', 'accepted protocols: auto, ascii, binary').default('auto'))
  .addOption(new Option('-S, --enable-sasl', 'turn on SASL authentication (binary protocol only, mechanism PLAIN)').env('MEMRING_ENABLE_SASL'))
  .addOption(new Option('--sasl-pwdb <file>', 'SASL users, user:password lines (default: $MEMCACHED_SASL_PWDB)').env('MEMRING_SASL_PWDB'))
  .addOption(new Option('-Y, --auth-file <file>', 'enable ASCII protocol authentication; file of user:password lines').env('MEMRING_AUTH_FILE'))
  .addOption(new Option('-Z, --enable-ssl', 'TLS on every TCP listener not prefixed notls: (certificates from -o ssl_chain_cert=,ssl_key=, ...)').env('MEMRING_ENABLE_SSL'))
  .addOption(new Option('-o, --extended <opts>', 'comma-separated extended options (idle_timeout=N, hashpower=N, lru_crawler, no_lru_crawler, slab_reassign, slab_automove=N, ...)').argParser(collect))
  .addOption(new Option('-u, --user <name>', 'accepted for compatibility (memring does not change user)'))
  .addOption(new Option('-P, --pidfile <file>', 'write the process id to this file'))
  .addOption(new Option('-k, --lock-memory', 'accepted for compatibility'))
  .addOption(new Option('-D, --prefix-delimiter <char>', 'stats detail: key prefix delimiter (default ":"); turns detail collection on').env('MEMRING_PREFIX_DELIMITER'))
  .addOption(new Option('-d, --daemon', 'run as a daemon (in the background; the -P file gets its pid)'))
  .addOption(new Option('-W, --disable-watch', 'disable the watch command (live logging)').env('MEMRING_DISABLE_WATCH'))
  .addOption(new Option('-e, --memory-file <file>', 'restartable cache: a graceful stop (SIGUSR1, shutdown graceful) saves the items here, the next start loads them').env('MEMRING_MEMORY_FILE'))
  .addOption(new Option('-s, --unix-socket <path>', 'listen on this unix socket only (no TCP)').env('MEMRING_UNIX_SOCKET'))
  .addOption(new Option('-a, --unix-mask <mask>', 'permissions of the -s socket file, octal (default 0700)').env('MEMRING_UNIX_MASK'))
  // Cluster membership (lib/cluster; see lib/app/cluster-options.ts).
  .addOption(new Option('--zk <hosts>', 'join a cluster: ZooKeeper ensemble HOST:PORT[,HOST:PORT...]').env('MEMRING_ZK'))
  .addOption(new Option('--cluster <name>', 'cluster name (with --zk)').env('MEMRING_CLUSTER'))
  .addOption(new Option('--shard <id>', 'shard this host serves (with --zk)').env('MEMRING_SHARD'))
  .addOption(new Option('--dc <name>', 'datacenter of this host (with --zk)').env('MEMRING_DC'))
  .addOption(new Option('--advertise <host[:port]>', 'address proxies use to reach this host (default: first --listen address or hostname, bound port)').env('MEMRING_ADVERTISE'))
  .addOption(new Option('--role <role>', 'auto (default: run for master of the shard), replica (never elected) or follower (with --zk)').env('MEMRING_ROLE'))
  .addOption(new Option('--zk-session-timeout <ms>', 'ZooKeeper session timeout (with --zk)').default(undefined, '10000').env('MEMRING_ZK_SESSION_TIMEOUT'))
  // Replication (lib/replication; see lib/replication/README.md).
  .addOption(new Option('--replica-of <host:port>', 'follow this master as a read-only replica (standalone; in a cluster use --role replica)').env('MEMRING_REPLICA_OF'))
  .addOption(new Option('--repl-backlog-size <size>', 'replication backlog kept for partial resyncs (bytes, or k/m/g suffix)').default(undefined, '64m').env('MEMRING_REPL_BACKLOG_SIZE'))
  .addOption(new Option('--repl-timeout <ms>', 'drop and re-establish a replication link silent this long').default(undefined, '5000').env('MEMRING_REPL_TIMEOUT'))
  .addOption(new Option('--min-replicas-to-ack <n>', 'answer a write only once this many replicas have acknowledged it (0 = asynchronous)').default(undefined, '0').env('MEMRING_MIN_REPLICAS_TO_ACK'))
  .addOption(new Option('--min-replicas-timeout <ms>', 'with --min-replicas-to-ack: how long a write waits for its acks before an error reply').default(undefined, '1000').env('MEMRING_MIN_REPLICAS_TIMEOUT'))
  .addOption(new Option('--repl-lag-threshold <ms>', 'a replica or follower whose lag behind its master exceeds this logs a lag_high event (lag_ok when back under)').default(undefined, '5000').env('MEMRING_REPL_LAG_THRESHOLD'))
  // Observability (lib/metrics; see README "Metrics").
  .addOption(new Option('--metrics-port <num>', 'serve Prometheus metrics on GET /metrics at this TCP port (0 = any free port; default: off)').env('MEMRING_METRICS_PORT'))
  .addOption(new Option('--metrics-listen <addr>', 'address of the metrics port (default: all interfaces)').env('MEMRING_METRICS_LISTEN'))
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })

function usageError (msg: string): never {
  process.stderr.write(`memring: ${msg}\nTry 'memring --help' for more information.\n`)
  process.exit(2)
}

async function main (): Promise<void> {
  try {
    program.parse(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(0)
      process.exit(2) // commander already printed the message
    }
    throw err
  }
  const raw = program.opts() as RawServerOptions & { pidfile?: string }
  raw.portGiven = program.getOptionValueSource('port') !== 'default'
  let settings
  let cluster
  let replication
  let metrics
  try {
    metrics = metricsOptions(raw as RawMetricsOptions)
    settings = serverSettings(raw)
    cluster = clusterOptions(raw as RawClusterOptions)
    replication = replicationOptions(raw as RawReplicationOptions)
    if (replication.replicaOf !== null && cluster !== null) usageError('--replica-of is for a standalone host; in a cluster use --role replica')
  } catch (err) {
    if (err instanceof ConfigError && err.verbatim) {
      // memcached's own message, alone (lib/app/suboptions.ts); exit 2 like every bad flag.
      process.stderr.write(`${err.message}\n`)
      process.exit(err.exitCode)
    }
    if (err instanceof ConfigError) usageError(err.message)
    throw err
  }
  // -d: once the flags are known to be good, so a bad one still fails in the foreground.
  if ((raw as { daemon?: boolean }).daemon === true && !isDaemonChild()) daemonize(settings.verbosity > 0)
  const log = createLogger(levelForVerbosity(settings.verbosity), undefined, logFormat((raw as { logFormat?: string }).logFormat) ?? 'json')
  if (raw.pidfile !== undefined) {
    const { writeFileSync } = await import('node:fs')
    writeFileSync(raw.pidfile, `${process.pid}\n`)
  }
  let app: Awaited<ReturnType<typeof startServerApp>> | null = null
  /** Set by the first stop request: whether it was graceful. */
  let stopGraceful: boolean | null = null
  const closeApp = (): void => {
    if (app !== null && stopGraceful !== null) void app.close(stopGraceful ? 5000 : 500, stopGraceful).then(() => process.exit(0))
  }
  const stop = (why: string, graceful: boolean): void => {
    if (stopGraceful !== null) return
    stopGraceful = graceful
    log.info({ why }, 'shutting down')
    // memcached -v says so on stderr (its main loop's exit; `verbosity` can change it live).
    if ((app?.server.ctx.settings.verbosity ?? settings.verbosity) > 0) verboseLine(graceful ? 'Gracefully stopping' : 'Exiting normally')
    const t = setTimeout(() => process.exit(0), graceful ? 10000 : 2000)
    t.unref()
    // A signal during start-up (say, between our ZooKeeper node appearing and start-up
    // returning) is acted on once the start finishes: closeApp() below.
    closeApp()
  }
  // Handlers go in before start-up: Node's default SIGTERM action would kill the process
  // with its ZooKeeper node left behind until the session expires.
  process.on('SIGTERM', () => stop('SIGTERM', false))
  process.on('SIGINT', () => stop('SIGINT', false))
  process.on('SIGUSR1', () => stop('SIGUSR1', true)) // memcached: graceful shutdown
  try {
    app = await startServerApp({
      settings,
      log,
      server: { onShutdownRequest: (graceful) => stop('shutdown command', graceful) },
      cluster,
      replication,
      metrics,
    })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (typeof e.code === 'string' && e.code.startsWith('MEMRING_ERR_CLUSTER_')) {
      process.stderr.write(`memring: cannot join cluster: ${e.message}\n`)
      process.exit(1)
    }
    if (e.code === 'MEMRING_ERR_TLS_LOAD') {
      // memcached's message alone (it exits EX_USAGE); exit 2 like every bad flag value.
      process.stderr.write(`${e.message}\n`)
      process.exit(2)
    }
    if (e.code === 'MEMRING_ERR_MEMORY_FILE') {
      process.stderr.write(`${e.message}\n`)
      process.exit(1) // memcached aborts on an unreadable restart metadata file
    }
    if (typeof e.code === 'string' && e.code.startsWith('MEMRING_ERR_AUTH_FILE_')) {
      process.stderr.write(`memring: ${e.message}\n`)
      process.exit(1) // memcached: EXIT_FAILURE when the -Y file cannot be loaded
    }
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`memring: failed to listen on port ${settings.port}: ${e.message}\n`)
      process.exit(71) // memcached exits with EX_OSERR when it cannot bind
    }
    throw err
  }
  if (stopGraceful !== null) { closeApp(); return }
  const running = app
  // MEMRING_TEST_HOOKS=1 only (fault-injection checker, compat-tests/chaos): SIGUSR2
  // expires our ZooKeeper session server-side. Off and absent otherwise.
  installTestHooks(() => running.registry !== null ? [running.registry.session] : [], log)
  process.on('SIGHUP', () => {
    // memcached reloads the -Y authfile on SIGHUP and keeps the old users if that fails.
    try { running.server.reloadAuth() } catch (err) { log.error({ err }, 'authfile reload failed; keeping the previous users') }
  })
}

main().catch((err) => {
  process.stderr.write(`memring: fatal: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
