/**
 * Placement identical to libmemcached's libketama-compatible ketama
 * (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), checked against the real library: the test
 * compiles libmemcached-place.c against Debian's libmemcached-dev and asks it where
 * each key goes. Vectors are generated here, on this machine, at every run.
 */
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { libmemcachedKetama, libmemcachedKetamaUnweighted, type HostPort, type KetamaRing, type KeyHash } from '../index.js'
import { makeKeys, prng } from './keys.js'

// dist/lib/ring/test -> lib/ring/test (the C source is not compiled by tsc)
const here = dirname(fileURLToPath(import.meta.url))
const source = join(here, '..', '..', '..', '..', 'lib', 'ring', 'test', 'libmemcached-place.c')

function buildHelper (): string | null {
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'libmemcached'], { encoding: 'utf8' })
  if (pc.status !== 0) return null
  const dir = mkdtempSync(join(tmpdir(), 'memring-lmp-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bin = join(dir, 'libmemcached-place')
  execFileSync('cc', ['-O2', '-Wall', '-o', bin, source, ...pc.stdout.trim().split(/\s+/)], { stdio: 'inherit' })
  return bin
}

interface Case { name: string, servers: HostPort[], addWithoutWeight?: boolean }

const rnd = prng(7)
const cases: Case[] = [
  {
    name: '3 servers on one host, ports 11211-11213 (11211 is hashed as the bare host)',
    servers: [11211, 11212, 11213].map((port) => ({ host: '127.0.0.1', port })),
  },
  {
    name: '2 servers added without a weight (default weight)',
    servers: [{ host: '127.0.0.1', port: 21001 }, { host: '127.0.0.2', port: 11211 }],
    addWithoutWeight: true,
  },
  {
    name: '10 hostnames, mixed ports',
    servers: Array.from({ length: 10 }, (_, i) => ({ host: `cache-${i}.example.internal`, port: i % 3 === 0 ? 11211 : 20000 + i })),
  },
  {
    name: 'weights 1, 2, 3, 4',
    servers: [1, 2, 3, 4].map((w, i) => ({ host: '10.0.0.' + (i + 1), port: 11211, weight: w })),
  },
  {
    name: 'weights 1 and 100 (the light server rounds to zero points)',
    servers: [{ host: 'small', port: 11211, weight: 1 }, { host: 'big', port: 11300, weight: 100 }],
  },
  {
    name: '7 servers, weights 1..7, 11211 on some',
    servers: Array.from({ length: 7 }, (_, i) => ({ host: `127.0.0.${i + 1}`, port: i % 2 === 0 ? 11211 : 11311 + i, weight: i + 1 })),
  },
  {
    name: '33 servers, random weights 1..10',
    servers: Array.from({ length: 33 }, (_, i) => ({ host: `mc${i}`, port: 11211 + (i % 5), weight: 1 + Math.floor(rnd() * 10) })),
  },
  {
    name: '100 servers, equal weights',
    servers: Array.from({ length: 100 }, (_, i) => ({ host: `192.168.${i >> 4}.${i & 15}`, port: 11211 + (i % 4) })),
  },
  {
    name: 'one server',
    servers: [{ host: 'solo', port: 11211 }],
  },
]

/** Keys whose hash is past the last point: they must wrap to the first point's server. */
function wrapKeys (ring: KetamaRing, n: number): string[] {
  const { points } = ring.continuum
  const last = points[points.length - 1]
  const out: string[] = []
  const b = Buffer.alloc(32)
  for (let i = 0; out.length < n; i++) {
    const len = b.write(`wrap:${i}`, 0, 'latin1')
    if (ring.hashOfBytes(b, 0, len) > last) out.push(b.toString('latin1', 0, len))
  }
  return out
}

const bin = buildHelper()
const KEYS = 15000
let compared = 0

for (const c of cases) {
  t.test(c.name, { skip: bin === null ? 'libmemcached-dev not installed (scripts/setup.sh installs it)' : false }, async (t) => {
    const ring = libmemcachedKetama(c.servers)
    const keys = [...makeKeys(KEYS, c.servers.length * 31 + 1), ...wrapKeys(ring, 20)]
    for (const mode of ['weighted-before', 'weighted-after']) {
      const input = [
        `${mode} ${c.servers.length}`,
        ...c.servers.map((s) => `${s.host} ${s.port} ${c.addWithoutWeight === true ? 0 : (s.weight ?? 1)}`),
        ...keys,
      ].join('\n') + '\n'
      const out = execFileSync(bin as string, { input, maxBuffer: 64 << 20 }).toString().trim().split('\n').map(Number)
      t.equal(out.length, keys.length, `${mode}: libmemcached placed every key`)
      let diff = 0
      let first = ''
      for (let i = 0; i < keys.length; i++) {
        if (ring.serverOf(keys[i]) !== out[i]) {
          if (diff++ === 0) first = `${JSON.stringify(keys[i])}: ours ${ring.serverOf(keys[i])}, libmemcached ${out[i]}`
        }
      }
      compared += keys.length
      t.equal(diff, 0, `${mode}: all ${keys.length} keys on the same server as libmemcached${first && ', first difference ' + first}`)
      // every server with points gets keys, so the comparison is not vacuous
      const used = new Set(out)
      const withPoints = [...ring.continuum.pointCounts].filter((p) => p > 0).length
      t.equal(used.size, withPoints, `${mode}: keys landed on all ${withPoints} servers that have points`)
      if (c.servers.length > 1) {
        t.same(new Set(out.slice(-20)), new Set([ring.continuum.owners[0]]), `${mode}: keys hashing past the last point wrap to the first point's server`)
      }
    }
  })
}

t.test('unweighted ketama (MEMCACHED_BEHAVIOR_KETAMA, pylibmc {"ketama": True}) with each key hash', { skip: bin === null ? 'libmemcached-dev not installed' : false }, async (t) => {
  const lists: HostPort[][] = [
    [11211, 11212, 11213].map((port) => ({ host: '127.0.0.1', port })),
    Array.from({ length: 10 }, (_, i) => ({ host: `cache-${i}.example.internal`, port: i % 3 === 0 ? 11211 : 20000 + i })),
    Array.from({ length: 50 }, (_, i) => ({ host: `10.9.0.${i}`, port: 11211 })),
  ]
  const hashes: Array<[string, KeyHash]> = [['default', 'one_at_a_time'], ['md5', 'md5'], ['fnv1a_64', 'fnv1a_64'],
    ['fnv1_64', 'fnv1_64'], ['fnv1a_32', 'fnv1a_32'], ['fnv1_32', 'fnv1_32'], ['murmur', 'murmur']]
  for (const servers of lists) {
    const keys = makeKeys(4000, servers.length * 7)
    for (const [cname, ours] of hashes) {
      for (const mode of ['ketama-before', 'ketama-after']) {
        // "after": the continuum was built before the hash was set, with the default hash
        const ring = libmemcachedKetamaUnweighted(servers, ours, mode === 'ketama-after' ? 'one_at_a_time' : ours)
        const input = [`${mode} ${servers.length} ${cname}`, ...servers.map((s) => `${s.host} ${s.port} 1`), ...keys].join('\n') + '\n'
        const out = execFileSync(bin as string, { input, maxBuffer: 64 << 20 }).toString().trim().split('\n').map(Number)
        let diff = 0
        for (let i = 0; i < keys.length; i++) if (ring.serverOf(keys[i]) !== out[i]) diff++
        compared += keys.length
        t.equal(diff, 0, `${servers.length} servers, hash ${cname}, ${mode}: all ${keys.length} keys agree`)
        // not every server for every hash: FNV-1 of similar labels clusters (in libmemcached too)
        if (mode === 'ketama-before') t.ok(new Set(out).size > servers.length / 2, `keys spread over ${new Set(out).size} of ${servers.length} servers`)
      }
    }
  }
})

t.teardown(() => { if (bin !== null) console.log(`# libmemcached placement: ${compared} key placements compared`) })
