// Summarises a V8 .cpuprofile (from `run.js --cpu-prof DIR`): where the busy time went, by
// area (our protocol/server/store code, Node's net and stream machinery, GC, native code)
// and by function (self time), plus the inclusive time of a few entry points.
//
//   node dist/compat-tests/bench/cpuprofile.js DIR_OR_FILE [--top 30]
//
// Idle time (the event loop waiting in epoll) is left out of every percentage.

import fs from 'node:fs'
import path from 'node:path'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

function area (cf: CallFrame): string {
  const u = cf.url
  if (cf.functionName === '(idle)') return '(idle)'
  if (cf.functionName === '(garbage collector)') return 'GC'
  if (cf.functionName === '(program)') return 'native, not attributed (program)'
  if (u === '') return `native: ${cf.functionName}`
  const m = /\/dist\/((?:lib|protocol|bin)\/.*?)\.js$/.exec(u)
  if (m !== null) return m[1]
  if (u.startsWith('node:internal/streams') || u === 'node:stream') return 'node: streams'
  if (u === 'node:net' || u.startsWith('node:internal/stream_base_commons')) return 'node: net / stream_base'
  if (u.startsWith('node:')) return `node: ${u.slice(5).replace(/^internal\//, '')}`
  if (u.includes('node_modules')) return `dep: ${u.replace(/^.*node_modules\//, '').split('/')[0]}`
  return u
}

function load (p: string): { prof: Profile, file: string } {
  let file = p
  if (fs.statSync(p).isDirectory()) {
    // The largest profile in the folder: the server (small ones are failed starts).
    const files = fs.readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(p, f))
    if (files.length === 0) throw new Error(`no .cpuprofile in ${p}`)
    files.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)
    file = files[0]
  }
  return { prof: JSON.parse(fs.readFileSync(file, 'utf8')) as Profile, file }
}

function main (): void {
  const args = process.argv.slice(2)
  const ti = args.indexOf('--top')
  const top = ti === -1 ? 30 : Number(args[ti + 1])
  const target = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--top')
  if (target === undefined) throw new Error('usage: cpuprofile.js DIR_OR_FILE [--top N]')
  const { prof, file } = load(target)
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const n of prof.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  const self = new Map<number, number>()
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? 0
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt)
  }
  let idle = 0
  let busy = 0
  const byArea = new Map<string, number>()
  const byFn = new Map<string, number>()
  const incl = new Map<string, number>()
  for (const [id, t] of self) {
    const cf = (byId.get(id) as ProfileNode).callFrame
    const a = area(cf)
    if (a === '(idle)') { idle += t; continue }
    busy += t
    byArea.set(a, (byArea.get(a) ?? 0) + t)
    const fn = `${cf.functionName === '' ? '(anonymous)' : cf.functionName}  ${a}${cf.lineNumber >= 0 && cf.url !== '' ? `:${cf.lineNumber + 1}` : ''}`
    byFn.set(fn, (byFn.get(fn) ?? 0) + t)
    // Inclusive time: charge every distinct function name on the stack once.
    const seen = new Set<string>()
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
      const f = (byId.get(p) as ProfileNode).callFrame
      const key = `${f.functionName} ${area(f)}`
      if (seen.has(key)) continue
      seen.add(key)
      incl.set(key, (incl.get(key) ?? 0) + t)
    }
  }
  const pct = (t: number): string => `${((100 * t) / busy).toFixed(1).padStart(5)}%`
  const ms = (t: number): string => `${(t / 1000).toFixed(0).padStart(6)} ms`
  const out: string[] = [
    `profile ${file}`,
    `wall ${((prof.endTime - prof.startTime) / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (percentages are of busy time)`,
    '',
    'by area (self time):',
    ...[...byArea].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([a, t]) => `  ${pct(t)} ${ms(t)}  ${a}`),
    '',
    `top ${top} functions (self time):`,
    ...[...byFn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([f, t]) => `  ${pct(t)} ${ms(t)}  ${f}`),
    '',
    'inclusive time of the request path:',
    ...[...incl].filter(([k]) => /^(onData|onStreamRead|push|run|onLine|get|update|onDataBytes|flush|writeValue|find|touchRead|alloc|link|writeGeneric|writev|Writable\.write|_write|emit|addChunk|readableAddChunk) /.test(k))
      .sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, t]) => `  ${pct(t)} ${ms(t)}  ${k}`),
  ]
  process.stdout.write(out.join('\n') + '\n')
}

main()
