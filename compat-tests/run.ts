// The compat runner: every suite against every --target, a table suite x target, and a
// last line "compat: N passed, M failed". Exit code 1 when anything failed.
//
//   node dist/compat-tests/run.js --target memcached --target memring [--json FILE]
//        [--only REGEX] [--jobs N] [--deadline SECONDS] [--verbose] [--list]
//
// Targets: memcached (spawned from PATH), memring (dist/bin/memring.js, spawned) and
// HOST:PORT (used as it is, one suite at a time; tests that need flags are skipped).

import fs from 'node:fs'
import { suites } from './suites.js'
import { runSuite, type TestResult } from './harness/suite.js'
import { parseTarget, type Target } from './harness/targets.js'

interface Options {
  targets: Target[]
  json: string | null
  only: RegExp | null
  jobs: number
  deadlineS: number
  verbose: boolean
  list: boolean
  /** --require-targets: a target that cannot run here fails the run instead of skipping. */
  requireTargets: boolean
}

function usage (msg: string): never {
  process.stderr.write(`compat: ${msg}\nusage: run.js --target memcached|memring|proxy|HOST:PORT [--target ...] [--json FILE] [--only REGEX] [--jobs N] [--deadline SECONDS] [--verbose] [--list] [--require-targets]\n`)
  process.exit(2)
}

function parseArgs (argv: string[]): Options {
  const o: Options = { targets: [], json: null, only: null, jobs: 4, deadlineS: 240, verbose: false, list: false, requireTargets: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = (): string => { const v = argv[++i]; if (v === undefined) usage(`${a} needs a value`); return v }
    if (a === '--target' || a === '-t') {
      try { o.targets.push(parseTarget(val())) } catch (e) { usage((e as Error).message) }
    } else if (a === '--json') o.json = val()
    else if (a === '--only') o.only = new RegExp(val())
    else if (a === '--jobs' || a === '-j') o.jobs = Math.max(1, Number(val()) || 1)
    else if (a === '--deadline') o.deadlineS = Number(val()) || 240
    else if (a === '--verbose' || a === '-v') o.verbose = true
    else if (a === '--list') o.list = true
    else if (a === '--require-targets') o.requireTargets = true
    else if (a === '--help' || a === '-h') usage('help')
    else usage(`unknown argument ${a}`)
  }
  if (o.targets.length === 0 && !o.list) o.targets.push(parseTarget('memcached'))
  return o
}

interface Cell { pass: number, fail: number, skip: number }

function main (): void {
  const o = parseArgs(process.argv.slice(2))
  if (o.list) {
    for (const s of suites) for (const t of s.tests) process.stdout.write(`${s.name}: ${t.name}\n`)
    return
  }
  const missing = o.targets.filter((t) => t.unavailable !== undefined)
  if (o.requireTargets && missing.length > 0) {
    for (const t of missing) process.stdout.write(`FAIL [${t.name}] target cannot run here: ${t.unavailable}\n`)
    process.stdout.write(`compat: 0 passed, ${missing.length} failed (--require-targets)\n`)
    process.exit(1)
  }
  const started = Date.now()
  const results: TestResult[] = []
  const onResult = (r: TestResult): void => {
    results.push(r)
    if (r.status === 'fail') process.stdout.write(`FAIL [${r.target}] ${r.suite}: ${r.test}\n      ${r.message}\n`)
    else if (o.verbose) process.stdout.write(`${r.status} [${r.target}] ${r.suite}: ${r.test} (${r.ms} ms)${r.message ? ' - ' + r.message : ''}\n`)
  }

  // One task per (suite, target). External targets run their suites one at a time,
  // because they share one server and suites flush it.
  const tasks = o.targets.flatMap((target) => suites.map((s) => ({ s, target })))
  const busyExternal = new Set<string>()
  let finished = false

  const finish = (timedOut: boolean): void => {
    if (finished) return
    finished = true
    if (timedOut) {
      for (const { s, target } of tasks) {
        for (const t of s.tests) {
          if (!results.some((r) => r.suite === s.name && r.test === t.name && r.target === target.name) && (!o.only || o.only.test(`${s.name} ${t.name}`))) {
            const r: TestResult = { suite: s.name, test: t.name, target: target.name, status: 'fail', ms: 0, message: `not finished within the ${o.deadlineS} s deadline` }
            results.push(r)
            process.stdout.write(`FAIL [${r.target}] ${r.suite}: ${r.test}\n      ${r.message}\n`)
          }
        }
      }
    }
    report(o, results, Date.now() - started)
    const failed = results.filter((r) => r.status === 'fail').length
    process.exit(failed > 0 ? 1 : 0)
  }
  setTimeout(() => finish(true), o.deadlineS * 1000).unref()

  const pending = [...tasks]
  const worker = async (): Promise<void> => {
    while (pending.length > 0) {
      const i = pending.findIndex((t) => t.target.kind !== 'external' || !busyExternal.has(t.target.name))
      if (i < 0) { // only external suites left, and their server is busy
        await new Promise((r) => setTimeout(r, 50))
        continue
      }
      const [task] = pending.splice(i, 1)
      if (task.target.kind === 'external') busyExternal.add(task.target.name)
      try {
        await runSuite(task.s, task.target, o.only, onResult)
      } finally {
        busyExternal.delete(task.target.name)
      }
    }
  }
  Promise.all(Array.from({ length: o.jobs }, worker)).then(() => finish(false), (e) => {
    process.stdout.write(`compat: runner error ${(e as Error).stack}\n`)
    finish(false)
  })
}

function report (o: Options, results: TestResult[], ms: number): void {
  const targets = o.targets.map((t) => t.name)
  const cells = new Map<string, Cell>()
  const rows: string[] = []
  for (const s of suites) if (results.some((r) => r.suite === s.name)) rows.push(s.name)
  for (const r of results) {
    const k = `${r.suite}\0${r.target}`
    const c = cells.get(k) ?? { pass: 0, fail: 0, skip: 0 }
    c[r.status]++
    cells.set(k, c)
  }
  const cellText = (c: Cell | undefined): string => {
    if (!c) return '-'
    if (c.fail > 0) return `FAIL ${c.fail}/${c.pass + c.fail}`
    if (c.pass === 0) return 'skipped'
    return `ok ${c.pass}` + (c.skip ? ` (${c.skip} skipped)` : '')
  }
  const w0 = Math.max(24, ...rows.map((r) => r.length)) + 2
  const ws = targets.map((t) => Math.max(18, t.length + 2))
  let out = '\n' + 'suite'.padEnd(w0) + targets.map((t, i) => t.padEnd(ws[i])).join('') + '\n'
  out += '-'.repeat(w0 + ws.reduce((a, b) => a + b, 0)) + '\n'
  for (const row of rows) {
    out += row.padEnd(w0) + targets.map((t, i) => cellText(cells.get(`${row}\0${t}`)).padEnd(ws[i])).join('') + '\n'
  }
  const totals = targets.map((t) => {
    const rs = results.filter((r) => r.target === t)
    return `${t}: ${rs.filter((r) => r.status === 'pass').length} passed, ${rs.filter((r) => r.status === 'fail').length} failed, ${rs.filter((r) => r.status === 'skip').length} skipped`
  })
  out += '\n' + totals.join('\n') + '\n'
  const reasons = new Map<string, number>()
  for (const r of results) if (r.status === 'skip') reasons.set(`[${r.target}] ${r.message}`, (reasons.get(`[${r.target}] ${r.message}`) ?? 0) + 1)
  for (const [why, n] of reasons) out += `skipped ${n}: ${why}\n`
  const passed = results.filter((r) => r.status === 'pass').length
  const failed = results.filter((r) => r.status === 'fail').length
  const skipped = results.length - passed - failed
  out += `compat time: ${(ms / 1000).toFixed(1)} s, ${skipped} skipped\n`
  out += `compat: ${passed} passed, ${failed} failed\n`
  process.stdout.write(out)
  if (o.json) {
    const summary = {
      passed,
      failed,
      skipped,
      durationMs: ms,
      targets: o.targets.map((t) => ({ name: t.name, kind: t.kind, unavailable: t.unavailable ?? null })),
      table: rows.map((row) => ({ suite: row, cells: Object.fromEntries(targets.map((t) => [t, cells.get(`${row}\0${t}`) ?? null])) })),
      failures: results.filter((r) => r.status === 'fail'),
      results,
    }
    fs.writeFileSync(o.json, JSON.stringify(summary, null, 2) + '\n')
  }
}

main()
