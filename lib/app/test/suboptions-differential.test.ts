/**
 * `-o` suboptions against memcached 1.6.18: the same options given to both, then the
 * `stats settings` rows they change, whether `lru mode` is still allowed, and which `stats`
 * / `stats items` rows are printed must match. Bad values must fail alike: the same stderr
 * bytes and exit code (memring's binary is spawned for those). memcached is the oracle; a
 * few of its answers are also written out, so a silent or missing oracle cannot pass.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { ConfigError, serverSettings } from '../config.js'
import { exchange, rawClient } from '../../testing/raw-client.js'
import { MEMCACHED_BIN, haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'

/** memring's settings for these -o groups, on a free port of 127.0.0.1. */
function withO (o: { extended: string[] }): ReturnType<typeof serverSettings> {
  return { ...serverSettings(o), port: 0, listen: ['127.0.0.1'] }
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memring.js')
const skip = haveMemcached() ? false : 'memcached not installed'

const ROWS = new RegExp('^STAT (slab_reassign|slab_automove|slab_automove_ratio|slab_automove_window|lru_crawler|' +
  'lru_crawler_sleep|lru_crawler_tocrawl|tail_repair_time|lru_maintainer_thread|lru_segmented|hot_lru_pct|' +
  'warm_lru_pct|hot_max_factor|warm_max_factor|temp_lru|temporary_ttl|idle_timeout|watcher_logbuf_size|' +
  'worker_logbuf_size|hashpower_init|slab_chunk_max|item_size_max) ')

const good = [
  'hot_lru_pct=30', 'hot_lru_pct=1', 'hot_lru_pct=30x', 'hot_lru_pct= 25', 'hot_lru_pct=4294967326',
  'hot_lru_pct=30,warm_lru_pct=50', 'warm_lru_pct=10', 'warm_lru_pct=+7',
  'no_lru_maintainer', 'lru_maintainer', 'no_lru_maintainer,lru_maintainer', 'lru_maintainer,no_lru_maintainer',
  'hot_max_factor=0.5', 'hot_max_factor=nan', 'hot_max_factor=-nan', 'hot_max_factor=1e3x', 'hot_max_factor=0x10',
  'warm_max_factor=1e400', 'warm_max_factor=0.125', 'warm_max_factor=2.675,hot_max_factor=0.005',
  'temporary_ttl=10', 'temporary_ttl=-1', 'temporary_ttl=abc', 'temporary_ttl=0',
  'no_lru_maintainer,temporary_ttl=5,lru_maintainer',
  'slab_automove_ratio=0.5', 'slab_automove_ratio=1', 'slab_automove_ratio=nan', 'slab_automove_window=10',
  'lru_crawler_tocrawl=100', 'lru_crawler_tocrawl=4294967297', 'tail_repair_time=20',
  'watcher_logbuf_size=512', 'watcher_logbuf_size=0', 'watcher_logbuf_size=4194304', 'watcher_logbuf_size=64 ',
  'worker_logbuf_size=128', 'worker_logbuf_size=48', 'worker_logbuf_size=512',
  'idle_timeout=-5', 'idle_timeout=7s', 'hashpower=20', 'lru_crawler_sleep=500', 'slab_automove', 'slab_automove=2',
  'no_slab_automove', 'no_modern', 'modern', 'hash_algorithm=jenkins', 'hash_algorithm=xxh3',
  'slab_chunk_max=16384', 'slab_chunk_max=1048576', 'slab_chunk_max=131072,slab_automove=0',
  'no_chunked_items', 'slab_chunk_max=262144,no_chunked_items', 'no_chunked_items,slab_chunk_max=262144',
  'slab_chunk_max=262144,no_modern', 'no_modern,slab_chunk_max=262144',
]

/** The rows the options concern, `lru mode`'s reply, and which `stats`/`stats items` rows exist. */
async function view (port: number): Promise<string> {
  const out = (await exchange(port, 'stats settings\r\nlru mode segmented\r\nset k 0 0 1\r\nx\r\nstats items\r\nstats\r\n')).toString('latin1')
  return out.split('\r\n').flatMap((l) => {
    if (ROWS.test(l)) return [l]
    // Row names only (ages and counters may differ), class ids left out: worker_logbuf_size
    // also sets memcached's slab classes (README, documented differences).
    if (l.startsWith('STAT items:')) return [l.split(' ')[1].replace(/^items:\d+:/, 'items:')]
    if (l.startsWith('STAT lru_maintainer_juggles')) return ['lru_maintainer_juggles']
    if (l === 'OK' || l === 'ERROR') return [`lru mode: ${l}`]
    return []
  }).join('\n')
}

t.test('stats settings after -o, as memcached 1.6.18', { skip }, async (t) => {
  await inBatches(good, async (opts) => {
    const mc = await startMemcached(t, ['-o', opts])
    const mr = await startServer(t, withO({ extended: [opts] }))
    const [a, b] = await Promise.all([view(mc.port), view(mr.port)])
    t.equal(b, a, `-o ${opts}`)
  })
})

t.test('the oracle says what was measured', { skip }, async (t) => {
  const mc = await startMemcached(t, ['-o', 'hot_lru_pct=30,no_lru_maintainer,watcher_logbuf_size=512,hot_max_factor=-nan'])
  const mr = await startServer(t, withO({ extended: ['hot_lru_pct=30,no_lru_maintainer,watcher_logbuf_size=512,hot_max_factor=-nan'] }))
  for (const port of [mc.port, mr.port]) {
    const v = await view(port)
    t.match(v, /STAT hot_lru_pct 30\n/)
    t.match(v, /STAT lru_maintainer_thread no\nSTAT lru_segmented no\n/)
    t.match(v, /STAT hot_max_factor -nan\n/)
    t.match(v, /STAT watcher_logbuf_size 524288\n/)
    t.match(v, /lru mode: ERROR/)
    t.notMatch(v, /number_hot|lru_maintainer_juggles/)
  }
})

t.test('-o values reach the running server', async (t) => {
  const mr = await startServer(t, withO({ extended: ['hot_lru_pct=30,warm_lru_pct=45'] }))
  t.equal(mr.store.lru.hotPct, 30, 'the store\'s HOT share')
  t.equal(mr.store.lru.warmPct, 45, 'the store\'s WARM share')
  t.equal(mr.store.lru.segmented, true)
  const flat = await startServer(t, withO({ extended: ['no_lru_maintainer'] }))
  t.equal(flat.store.lru.segmented, false, 'no_lru_maintainer: flat LRU')
  // watcher_logbuf_size=0: no line fits a watcher's buffer, every one is skipped.
  for (const [opts, sent, skipped] of [['watcher_logbuf_size=0', 0, 3], ['watcher_logbuf_size=1', 3, 0]] as const) {
    const s = await startServer(t, withO({ extended: [opts] }))
    const w = await rawClient(t, s.port)
    w.write('watch fetchers\r\n')
    t.equal(await w.until('OK\r\n'), 'OK\r\n')
    await exchange(s.port, 'get a\r\nget b\r\nget c\r\n', 50)
    t.same([s.ctx.watchers.sentTotal, s.ctx.watchers.skippedTotal], [sent, skipped], `-o ${opts}: lines sent, skipped`)
  }
})

const bad = [
  'hot_lru_pct=80', 'hot_lru_pct=0', 'hot_lru_pct', 'hot_lru_pct=', 'hot_lru_pct=abc', 'hot_lru_pct=-5',
  'hot_lru_pct=9223372036854775808', 'warm_lru_pct=0', 'warm_lru_pct=80', 'warm_lru_pct',
  'hot_lru_pct=50,warm_lru_pct=40', 'warm_lru_pct=79', 'hot_lru_pct=41,warm_lru_pct=40',
  'hot_max_factor=abc', 'hot_max_factor=0', 'hot_max_factor', 'warm_max_factor=0', 'warm_max_factor=-1',
  'warm_max_factor', 'warm_max_factor=-inf', 'temporary_ttl', 'temporary_ttl=5,no_lru_maintainer',
  'no_lru_maintainer,temporary_ttl=5', 'no_modern,temporary_ttl=1',
  'slab_automove_ratio=1.5', 'slab_automove_ratio=0', 'slab_automove_ratio=abc', 'slab_automove_ratio',
  'slab_automove_window=2', 'slab_automove_window', 'lru_crawler_tocrawl=x', 'lru_crawler_tocrawl',
  'tail_repair_time=9', 'tail_repair_time',
  'watcher_logbuf_size=abc', 'watcher_logbuf_size=-1', 'watcher_logbuf_size', 'watcher_logbuf_size=12x',
  'worker_logbuf_size=abc', 'worker_logbuf_size', 'worker_logbuf_size=1', 'worker_logbuf_size=47',
  'worker_logbuf_size=524289', 'worker_logbuf_size=64-128',
  'hashpower=11', 'hashpower=33', 'hashpower', 'lru_crawler_sleep=1000001', 'lru_crawler_sleep=-1',
  'slab_automove=3', 'idle_timeout', 'lru_segmented', 'no_lru_segmented', 'bogus=1',
  'hot_lru_pct=90,bogus', 'bogus,hot_lru_pct=90',
  'slab_chunk_max=1000', 'slab_chunk_max=2097152', 'slab_chunk_max=-5', 'slab_chunk_max=3145728', 'hash_algorithm=bogus', 'hash_algorithm', 'hash_algorithm=', 'hot_lru_pct=50,warm_lru_pct=40,temporary_ttl=1,no_lru_maintainer',
]

interface Exit { code: number | null, err: string }

/** Runs a command that should fail at start-up; one that starts is killed after 5 s. */
async function run (cmd: string, args: string[]): Promise<Exit> {
  // Without tap's NODE_OPTIONS (its loaders make each node start take a second or more).
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  let err = ''
  p.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000)
  const code = await new Promise<number | null>((resolve) => p.once('close', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, err }
}

async function runBoth (opts: string): Promise<{ mc: Exit, mr: Exit }> {
  const [mc, mr] = await Promise.all([
    run(MEMCACHED_BIN, ['-u', 'nobody', '-p', '0', '-U', '0', '-l', '127.0.0.1', '-o', opts]),
    run(process.execPath, [BIN, '-p', '0', '-U', '0', '-l', '127.0.0.1', '-o', opts]),
  ])
  return { mc, mr }
}

/** Runs f over the list a few at a time (the machine is shared). */
async function inBatches<T> (list: readonly T[], f: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < list.length; i += 6) await Promise.all(list.slice(i, i + 6).map(f))
}

/** What bin/memring.ts prints and exits with for these -o groups (checked by spawning below). */
function memringExit (opts: string): Exit {
  try {
    serverSettings({ extended: [opts] })
    return { code: 0, err: '' }
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.verbatim) throw err
    return { code: err.memcachedExitCode, err: `${err.message}\n` }
  }
}

t.test('bad -o values fail as memcached 1.6.18 fails', { skip }, async (t) => {
  await inBatches(bad, async (opts) => {
    const mc = await run(MEMCACHED_BIN, ['-u', 'nobody', '-p', '0', '-U', '0', '-l', '127.0.0.1', '-o', opts])
    t.not(mc.code, 0, `memcached refuses -o ${opts}`)
    t.same(memringExit(opts), mc, `-o ${opts}: same stderr, and memcached's exit code recorded`)
  })
})

t.test('both binaries fail with the measured messages and codes', { skip }, async (t) => {
  const cases: Array<[string, number, string]> = [
    ['hot_lru_pct=80', 1, 'hot_lru_pct must be > 1 and < 80\n'],
    ['hot_lru_pct=50,warm_lru_pct=40', 64, 'hot_lru_pct + warm_lru_pct cannot be more than 80% combined\n'],
    ['temporary_ttl=5,no_lru_maintainer', 64, 'temporary_ttl requires lru_maintainer to be enabled\n'],
    ['worker_logbuf_size=1', 64, 'slab size 1 is out of valid range\n'],
    ['lru_segmented', 1, 'Illegal suboption "lru_segmented"\n'],
    ['slab_chunk_max=1000', 64, '-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 1000)\n'],
  ]
  for (const [opts, code, err] of cases) {
    const { mc, mr } = await runBoth(opts)
    t.same(mc, { code, err }, `memcached -o ${opts}`)
    // memring: the same words, and exit code 2 as for every bad flag or value
    t.same(mr, { code: 2, err }, `memring -o ${opts}`)
  }
})
