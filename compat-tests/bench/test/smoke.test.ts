// CI runs every benchmark once, briefly, so they keep working (their numbers gate nothing):
// the memaslap macro benchmark (--smoke), the memory benchmark on 20,000 items and the
// three micro-benchmarks with --quick. Each must finish and write sane, complete output.
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const here = path.dirname(fileURLToPath(import.meta.url))
const benchDir = path.resolve(here, '..')
const dist = path.resolve(benchDir, '..', '..')
const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
const missing = ['memcached', 'memcaslap'].filter((c) => !have(c))
const skip = missing.length > 0 ? `not installed: ${missing.join(', ')} (scripts/setup.sh installs them)` : false

async function node (args: string[], timeoutMs: number): Promise<{ code: number | null, out: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, out: stdout + stderr })
    })
  })
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-bench-smoke-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

t.test('run.js --smoke measures memring and memcached and writes JSON, SVG and a table', { skip }, async (t) => {
  const out = path.join(tmp, 'run')
  const r = await node([path.join(benchDir, 'run.js'), '--smoke', '--profiles', 'text100,binary100', '--out', out], 120_000)
  t.equal(r.code, 0, r.out)
  t.match(r.out, /\[ 1\/6\] round 1 text100/, 'progress lines (2 profiles x 3 servers)')
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'))
  for (const target of ['memcached', 'memring', 'ceiling']) {
    const row = rep.runs.find((x: { profile: string, target: string }) => x.profile === 'text100' && x.target === target)
    t.ok(row?.ok, `${target} text100 ran: ${row?.error ?? ''}`)
    t.ok(row.opsPerSec > 0 && row.cpuUsPerOp > 0 && row.p99Us >= row.p50Us && row.p50Us > 0, `${target} figures ${JSON.stringify(row)}`)
  }
  const bin = rep.summaries.find((s: { profile: string }) => s.profile === 'binary100')
  t.ok(bin.memcached !== null, 'memcached serves binary')
  // memring serves the binary protocol (issue 3): "binary protocol not served" would be a regression.
  t.ok(bin.memring !== null, `memring binary measured (${bin.unavailable ?? 'no reason given'})`)
  const binRow = rep.runs.find((x: { profile: string, target: string }) => x.profile === 'binary100' && x.target === 'memring')
  t.ok(binRow?.ok && binRow.opsPerSec > 0, `memring binary100 ran: ${binRow?.error ?? ''}`)
  t.ok(rep.summaries[0].ratio.median > 0)
  t.ok(rep.summaries[0].ofCeiling.median > 0 && bin.ceiling.opsMedian > 0, 'the ceiling server answers text and binary')
  t.equal(rep.runs.find((x: { profile: string, target: string }) => x.target === 'ceiling').getMisses, 0, 'its gets all hit, as memaslap sees them')
  t.match(fs.readFileSync(path.join(out, 'latest.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>\n$/)
  t.match(fs.readFileSync(path.join(out, 'latest.md'), 'utf8'), /\| text, 100 B values \| memring \| 1 \|/)
})

t.test('memory.js loads every item into both servers and times a full GC', { skip }, async (t) => {
  const out = path.join(tmp, 'memory')
  const r = await node([path.join(benchDir, 'memory.js'), '--items', '20000', '--memory', '64', '--out', out], 120_000)
  t.equal(r.code, 0, r.out)
  const m = JSON.parse(fs.readFileSync(path.join(out, 'memory.json'), 'utf8'))
  t.same(m.rows.map((x: { server: string, items: number }) => [x.server, x.items]), [['memcached', 20000], ['memring', 20000]])
  for (const x of m.rows) t.ok(x.rssAfter > x.rssBefore, `${x.server} RSS grew`)
  t.equal(m.memring.fullGcMs.length, 10)
  t.ok(m.memring.fullGcMs.every((x: number) => x > 0))
  t.ok(m.ratio > 0)
})

for (const b of ['protocol/text/bench/request-parser', 'lib/server/bench/output', 'lib/store/bench/slab-store']) {
  t.test(`${b}.bench.js --quick prints its table`, async (t) => {
    const r = await node([path.join(dist, `${b}.bench.js`), '--quick'], 120_000)
    t.equal(r.code, 0, r.out)
    t.match(r.out, /ns\//, 'a per-operation column')
    t.notMatch(r.out, /NaN|Infinity/)
  })
}
