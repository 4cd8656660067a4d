/**
 * Lookup speeds of lib/ring, and the bintrees comparison the README quotes.
 * Run: npx tsc -p . && node dist/lib/ring/bench/ring.bench.js [--quick]
 * Each figure is the median of 5 timed runs after a warm-up, all in this one process;
 * numbers depend on what else the machine is doing.
 */
import bintrees from 'bintrees'
import {
  libmemcachedKetama, twemproxyKetama, JumpRouter, Ch3Router, BoundedLoads, KetamaContinuum, ketamaLabel, md5, md5Word,
} from '../index.js'

const quick = process.argv.includes('--quick')
const N = quick ? 20_000 : 1_000_000
const RUNS = quick ? 1 : 5

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/** ops/s of fn(i) over i in [0, n), median of RUNS runs. */
function measure (n: number, fn: (i: number) => number): number {
  let sink = 0
  for (let i = 0; i < Math.min(n, 200_000); i++) sink += fn(i)
  const rates: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink += fn(i)
    const ns = Number(process.hrtime.bigint() - t0)
    rates.push(n / (ns / 1e9))
  }
  if (sink === -1) console.log('')
  return median(rates)
}

const fmt = (x: number): string => x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`
const rows: Array<[string, string]> = []

const hosts = Array.from({ length: 100 }, (_, i) => ({ host: `10.1.${i >> 8}.${i & 255}`, port: 11211 }))
const lm = libmemcachedKetama(hosts)
const tw = twemproxyKetama(hosts)
const jump = new JumpRouter(100)
const keys = Array.from({ length: 4096 }, (_, i) => `user:${i * 7919}:profile`)
const keyBufs = keys.map((k) => Buffer.from(k))
const hashes = new Uint32Array(1 << 16)
for (let i = 0; i < hashes.length; i++) hashes[i] = (Math.random() * 0x100000000) >>> 0

rows.push(['ketama 100 hosts, binary search only (hash given)', fmt(measure(N * 5, (i) => lm.continuum.serverFor(hashes[i & 0xffff])))])
rows.push(['ketama 100 hosts libmemcached, string key (md5 + search)', fmt(measure(N, (i) => lm.serverOf(keys[i & 4095])))])
rows.push(['ketama 100 hosts libmemcached, Buffer key (md5 + search)', fmt(measure(N, (i) => { const b = keyBufs[i & 4095]; return lm.serverOfBytes(b, 0, b.length) }))])
rows.push(['ketama 100 hosts twemproxy, string key (fnv1a_64 + search)', fmt(measure(N, (i) => tw.serverOf(keys[i & 4095])))])
rows.push(['jump 100 shards, 64-bit key given', fmt(measure(N * 5, (i) => jump.shardOf64(hashes[i & 0xffff], hashes[(i + 1) & 0xffff])))])
rows.push(['jump 100 shards, string key (md5 + jump)', fmt(measure(N, (i) => jump.serverOf(keys[i & 4095])))])
{
  const ch3 = new Ch3Router(100)
  rows.push(['ch3 100 servers, Buffer key (murmur64A + furc)', fmt(measure(N, (i) => { const b = keyBufs[i & 4095]; return ch3.serverOfBytes(b, 0, b.length) }))])
}
{
  const bl = new BoundedLoads(lm.continuum, 1.25)
  rows.push(['bounded loads c=1.25, place (hash given)', fmt(measure(N, (i) => bl.place(hashes[i & 0xffff])))])
}

// bintrees: would a red-black tree of points earn its place for membership changes?
const servers = hosts.map((h) => ({ label: ketamaLabel(h.host, h.port), weight: 1 }))
const rebuildMs = (() => {
  const times: number[] = []
  for (let r = 0; r < Math.max(RUNS, 3); r++) {
    const t0 = process.hrtime.bigint()
    KetamaContinuum.build([...servers, { label: `new-${r}`, weight: 1 }])
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return median(times)
})()
interface P { v: number, s: number }
const tree = new bintrees.RBTree<P>((a, b) => a.v - b.v || a.s - b.s)
const c = lm.continuum
for (let i = 0; i < c.points.length; i++) tree.insert({ v: c.points[i], s: c.owners[i] })
const insertMs = (() => {
  const times: number[] = []
  for (let r = 0; r < Math.max(RUNS, 3); r++) {
    const label = new TextEncoder().encode(`added-${r}`)
    const t0 = process.hrtime.bigint()
    // one new server: 40 digests x 4 points into the existing tree
    for (let g = 0; g < 40; g++) {
      const l = new TextEncoder().encode(`added-${r}-${g}`)
      md5(l, 0, l.length)
      for (let w = 0; w < 4; w++) tree.insert({ v: md5Word(w), s: 100 + r })
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    void label
  }
  return median(times)
})()
const probe: P = { v: 0, s: -1 }
const treeLookup = measure(N, (i) => {
  probe.v = hashes[i & 0xffff]
  const it = tree.lowerBound(probe)
  const d = it.data() ?? tree.min()
  return d === null ? 0 : d.s
})
rows.push(['bintrees RBTree lowerBound lookup, 16k points (hash given)', fmt(treeLookup)])
rows.push(['add one server: rebuild sorted typed arrays (101 hosts)', `${rebuildMs.toFixed(2)} ms`])
rows.push(['add one server: 160 inserts into a bintrees RBTree', `${insertMs.toFixed(2)} ms`])

console.log(`# lib/ring bench, node ${process.version}, ${N} ops x ${RUNS} runs (median)`)
console.log('| what | speed |\n|---|---|')
for (const [a, b] of rows) console.log(`| ${a} | ${b} |`)
