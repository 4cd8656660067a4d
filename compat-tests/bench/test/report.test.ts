// The pure parts of the benchmark: memaslap's config and report, percentiles from its
// log2 histogram, the summary's pairing of interleaved runs, and the chart/table output.
import t from 'tap'
import { memaslapArgs, memaslapConfig, parseMemaslap, percentile, PROFILES } from '../load.js'
import { markdownTable, median, summarize, svgChart, type BenchReport, type RunRow } from '../report.js'
import type { ServerKind } from '../servers.js'

// The tail of a real `memcaslap -c 4 -t 1s -S 1s` run against memcached 1.6.18.
const MEMASLAP_OUT = `servers: 127.0.0.1:38139
threads count: 1
concurrency: 4
Total Statistics
Type     Time(s)  Ops          TPS(ops/s)   Net(M/s)   Get_miss   Min(us)  Max(us)    Avg(us)    Std_dev    Geo_dist
Period   1        8693         8693         1.1        0          15       44297      459        2092.71    56.31

Total Statistics (8693 events)
   Min:        15
   Max:     44297
   Avg:       459
   Geo:     56.31
   Std:   2092.71
   Log2 Dist:
       4:       64     1233     6065      300
       8:       67       78      147      274
      12:      195      169       69       28
      16:        4

cmd_get: 7826
cmd_set: 871
get_misses: 3
written_bytes: 426144

Run time: 1.0s Ops: 8697 TPS: 8696 Net_rate: 1.6M/s`

t.test('parseMemaslap reads ops, time, misses and the latency histogram', async (t) => {
  const r = parseMemaslap(MEMASLAP_OUT)
  t.equal(r.ops, 8697)
  t.equal(r.seconds, 1)
  t.equal(r.opsPerSec, 8697)
  t.equal(r.getMisses, 3)
  t.equal(r.latency.minUs, 15)
  t.equal(r.latency.maxUs, 44297)
  t.equal(r.latency.avgUs, 459)
  t.equal(r.latency.log2.length, 17)
  t.same(r.latency.log2.slice(4), [64, 1233, 6065, 300, 67, 78, 147, 274, 195, 169, 69, 28, 4])
  t.same(r.latency.log2.slice(0, 4), [0, 0, 0, 0])
  // 4346.5th of 8693 falls in bucket 6 = (32, 64] us; the 99th percentile in bucket 14.
  t.ok(r.latency.p50Us > 32 && r.latency.p50Us <= 64, `p50 ${r.latency.p50Us}`)
  t.ok(r.latency.p99Us > 8192 && r.latency.p99Us <= 16384, `p99 ${r.latency.p99Us}`)
})

t.test('parseMemaslap refuses output without a report', async (t) => {
  t.throws(() => parseMemaslap('servers: x\nconnect failed\n'), /Run time/)
  t.throws(() => parseMemaslap('Run time: 1.0s Ops: 5 TPS: 5 Net_rate: 0.0M/s'), /Total Statistics/)
})

t.test('percentile interpolates inside power-of-two buckets and clamps to min/max', async (t) => {
  const h = [0, 0, 0, 0, 0, 0, 0, 100] // all in (64, 128]
  t.equal(percentile(h, 0, 70, 120), 70)
  t.equal(percentile(h, 1, 70, 120), 120)
  const mid = percentile(h, 0.5, 1, 1000)
  t.ok(Math.abs(mid - 64 * Math.SQRT2) < 1e-9, `geometric middle of the bucket, got ${mid}`)
  t.equal(percentile([], 0.5, 0, 0), 0)
  t.equal(percentile([0, 10], 0.5, 0, 1), 1, 'bucket (1, 2] clamped to the observed max')
})

t.test('memaslap config and arguments follow the profile', async (t) => {
  t.equal(memaslapConfig({ keyBytes: 32, getRatio: 0.9, valueBytes: 1024 }), 'key\n32 32 1\nvalue\n1024 1024 1\ncmd\n0 0.1\n1 0.9\n')
  const bin = PROFILES.find((p) => p.id === 'binary100')
  const multi = PROFILES.find((p) => p.id === 'multiget10')
  if (bin === undefined || multi === undefined) throw new Error('profiles missing')
  const base = { port: 1234, seconds: 8, connections: 32, keyBytes: 32, getRatio: 0.9 }
  const a = memaslapArgs({ ...base, profile: bin, cpu: 1 }, '/x.cfg')
  t.same(a.slice(0, 3), ['-c', '1', 'memcaslap'], 'pinned through taskset')
  t.ok(a.includes('-B'))
  t.notOk(a.includes('-d'))
  const m = memaslapArgs({ ...base, profile: multi, cpu: null }, '/x.cfg')
  t.equal(m[0], '-s')
  t.equal(m[m.indexOf('-d') + 1], '10')
  t.equal(m[m.indexOf('-c') + 1], '32')
  t.equal(m[m.indexOf('-t') + 1], '8s')
})

function row (profile: string, target: ServerKind, round: number, ops: number, p99 = 100, cpu = 10): RunRow {
  return { profile, target, round, ok: true, opsPerSec: ops, ops: ops * 8, seconds: 8, cpuUsPerOp: cpu, sysUsPerOp: cpu / 2, syscallsPerOp: 2, p50Us: 50, p99Us: p99, avgUs: 60, maxUs: 900, getMisses: 0, loadAvg1: 1 }
}

t.test('summarize pairs memring and memcached within each round', async (t) => {
  const runs = [
    row('text100', 'memcached', 0, 100_000, 200, 8), row('text100', 'memring', 0, 70_000, 300, 12),
    row('text100', 'memcached', 1, 50_000), row('text100', 'memring', 1, 40_000), // a slow round for both
    row('text100', 'memcached', 2, 100_000), row('text100', 'memring', 2, 60_000),
    { ...row('text1k', 'memring', 0, 1), ok: false, error: 'boom' }, row('text1k', 'memcached', 0, 90_000),
  ]
  const unavailable = new Map([['binary100', 'binary protocol not served']])
  const s = summarize(PROFILES, runs, unavailable)
  const text = s[0]
  t.equal(text.profile, 'text100')
  t.equal(text.memcached?.opsMedian, 100_000)
  t.equal(text.memring?.opsMin, 40_000)
  t.equal(text.memring?.opsMax, 70_000)
  t.same(text.ratio, { median: 0.7, min: 0.6, max: 0.8, n: 3 }, 'ratios of pairs, not of medians')
  t.equal(text.p99Ratio?.max, 1.5)
  t.equal(s[1].unavailable, 'binary protocol not served')
  t.equal(s[1].memring, null)
  t.equal(s[2].memring, null, 'failed runs are left out')
  t.equal(s[2].ratio, null)
  t.equal(median([3, 1, 2, 10]), 2.5)

  const rep: BenchReport = {
    kind: 'memring-bench', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:05:00.000Z', command: 'x', gitSha: 'abc',
    machine: { cpuModel: 'cpu', cpus: 2, memTotalMb: 1, kernel: 'k', node: 'v20', memcached: 'memcached 1.6.18', loadAvg: [1, 1, 1] },
    pinned: true,
    params: { seconds: 8, warmupSeconds: 2, rounds: 3, connections: 32, keyBytes: 32, getRatio: 0.9, memoryMb: 64, memcachedThreads: 1 },
    summaries: s,
    runs,
  }
  const md = markdownTable(rep)
  t.match(md, /\| text, 100 B values \| memring \| 3 \| 40\.0k \| 60\.0k \| 70\.0k \| \*\*0\.70\*\* \(0\.60-0\.80\) \(>= 0\.65 met\) \| 10\.0 \(5\.0\) \| 50 us \| 100 us \|/)
  t.match(md, /unavailable: binary protocol not served/)
  t.match(md, /\| text, 1 KiB values \| memring \| 0 \| - \| - \| - \| every run failed: boom \|/)
  const svg = svgChart(rep)
  t.match(svg, /^<svg [^>]*>/)
  t.match(svg, /<\/svg>\n$/)
  t.match(svg, /0\.70x/)
  t.equal((svg.match(/<rect [^>]*fill="#2b7bb9"><title>/g) ?? []).length, 2, 'one memring bar per panel: only text100 ran')
  t.equal((svg.match(/<rect [^>]*fill="#8c8c8c"><title>/g) ?? []).length, 4, 'memcached ran text100 and text1k')
})

t.test('the Node ceiling: its ratio to memcached and the share of it memring reaches, paired by round', async (t) => {
  const runs = [
    row('text100', 'memcached', 0, 100_000), row('text100', 'memring', 0, 60_000), row('text100', 'ceiling', 0, 80_000),
    row('text100', 'memcached', 1, 100_000), row('text100', 'memring', 1, 70_000), row('text100', 'ceiling', 1, 70_000),
  ]
  const [text, bin] = summarize(PROFILES, runs, new Map())
  t.same(text.ceilingRatio, { median: 0.75, min: 0.7, max: 0.8, n: 2 })
  t.same(text.ofCeiling, { median: 0.875, min: 0.75, max: 1, n: 2 })
  t.equal(bin.ceiling, null)
  const rep: BenchReport = {
    kind: 'memring-bench', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:05:00.000Z', command: 'x', gitSha: 'abc',
    machine: { cpuModel: 'cpu', cpus: 2, memTotalMb: 1, kernel: 'k', node: 'v20', memcached: 'memcached 1.6.18', loadAvg: [1, 1, 1] },
    pinned: true,
    params: { seconds: 8, warmupSeconds: 2, rounds: 2, connections: 32, keyBytes: 32, getRatio: 0.9, memoryMb: 64, memcachedThreads: 1 },
    summaries: [text, bin],
    runs,
  }
  const md = markdownTable(rep)
  t.match(md, /\| text, 100 B values \| ceiling \| 2 \| 70\.0k \| 75\.0k \| 80\.0k \| ceiling\/memcached 0\.75 \(0\.70-0\.80\) \|/)
  t.match(md, /\| text, 100 B values \| [^\n]* \| 0\.88 \(0\.75-1\.00\) \| 1\.00 \(1\.00-1\.00\) \|\n/)
  t.notMatch(md, /binary, 100 B values \| ceiling/, 'no ceiling row where it did not run')
  t.equal((svgChart(rep).match(/<rect [^>]*fill="#e0a030"><title>/g) ?? []).length, 2, 'one ceiling bar per panel')
})
