/**
 * The import graph of ARCHITECTURE §2 / STYLE §2, checked on the source: protocol/, lib/store
 * and lib/ring import nothing of ours; lib/server reaches the store only through its own
 * files; compat-tests never import memring internals (only lib/testing); nothing imports
 * lib/testing except tests, benchmarks and compat-tests.
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

// dist/lib/test -> repo root (sources are read, not the compiled output)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

function walk (dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e)
    if (e === 'node_modules' || e === 'dist') continue
    if (statSync(p).isDirectory()) walk(p, out)
    else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

function importsOf (file: string): string[] {
  const src = readFileSync(file, 'utf8')
  const out: string[] = []
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g
  for (let m = re.exec(src); m !== null; m = re.exec(src)) {
    const spec = m[1] ?? m[2]
    if (spec.startsWith('.')) out.push(path.relative(ROOT, path.resolve(path.dirname(file), spec)))
  }
  return out
}

const isTestOrBench = (rel: string): boolean => /\/(test|bench)\//.test(rel)

const rules: Array<{ from: RegExp, allow: RegExp[], why: string }> = [
  { from: /^protocol\//, allow: [/^protocol\//], why: 'protocol/ imports nothing of ours' },
  { from: /^lib\/store\//, allow: [/^lib\/store\//], why: 'lib/store imports nothing of ours' },
  { from: /^lib\/ring\//, allow: [/^lib\/ring\//], why: 'lib/ring is pure' },
  { from: /^lib\/client\/(?!discovery\/zookeeper-shards\.ts$)/, allow: [/^lib\/client\//, /^protocol\//, /^lib\/ring\//, /^lib\/crypto\/index\.js$/, /^lib\/errors/, /^lib\/log/], why: 'lib/client uses protocol codecs, the ring and value encryption only' },
  { from: /^lib\/crypto\//, allow: [/^lib\/crypto\//], why: 'lib/crypto (value sealing) imports nothing of ours' },
  // The client's ZooKeeper source is the one file of lib/client that reads lib/cluster (its index only).
  { from: /^lib\/client\/discovery\/zookeeper-shards\.ts$/, allow: [/^lib\/client\//, /^lib\/cluster\/index\.js$/, /^lib\/log/], why: 'the client\'s ZooKeeper source reads lib/cluster through its index only' },
  { from: /^lib\/server\//, allow: [/^lib\/server\//, /^protocol\//, /^lib\/store\//, /^lib\/errors/, /^lib\/log/], why: 'lib/server: sockets, protocol, store' },
  { from: /^lib\/replication\//, allow: [/^lib\/replication\//, /^lib\/store\//], why: 'lib/replication: the store and its own frames; lib/app wires it to the server and ZooKeeper' },
  { from: /^compat-tests\//, allow: [/^compat-tests\//, /^lib\/testing\//], why: 'compat-tests are black-box: TCP and lib/testing only' },
  { from: /^bin\//, allow: [/^lib\/app\//, /^lib\/log/, /^lib\/server\/settings/, /^lib\/errors/], why: 'bin/ only wires lib/app' },
]

t.test('imports follow the layer rules', async (t) => {
  const files = ['protocol', 'lib', 'bin', 'compat-tests'].flatMap((d) => walk(path.join(ROOT, d)))
  t.ok(files.length > 20, `${files.length} source files read`)
  const violations: string[] = []
  for (const f of files) {
    const rel = path.relative(ROOT, f)
    const test = isTestOrBench(rel)
    for (const imp of importsOf(f)) {
      if (imp.startsWith('lib/testing') && !test && !rel.startsWith('lib/testing') && !rel.startsWith('compat-tests')) {
        violations.push(`${rel} -> ${imp} (lib/testing is for tests only)`)
      }
      if (test) continue
      for (const r of rules) {
        if (r.from.test(rel) && !r.allow.some((a) => a.test(imp))) violations.push(`${rel} -> ${imp} (${r.why})`)
      }
    }
  }
  t.same(violations, [], 'no edge outside the allowed graph')
})
