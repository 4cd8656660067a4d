// Compares two targets of one compat-suite run (its --json FILE): the container and
// the same build run on the host. Prints one line, "container N passed, M failed,
// K skipped; same as the host" or what differs, and exits 1 when a test ended
// differently on the two or when no test ran. With RETRY_FILE, it also writes there
// a --only regex that selects exactly the tests that differed, for one rerun.
// usage: node compare-compat.mjs FILE CONTAINER_TARGET HOST_TARGET [RETRY_FILE]
import fs from 'node:fs'

const [file, container, host, retryFile] = process.argv.slice(2)
let report
try {
  report = JSON.parse(fs.readFileSync(file, 'utf8'))
} catch (err) {
  console.log(`no compat report (${err.message})`)
  process.exit(1)
}
const statuses = (target) => new Map(report.results
  .filter((r) => r.target === target)
  .map((r) => [`${r.suite}: ${r.test}`, r.status]))
const c = statuses(container)
const h = statuses(host)
const count = (m, s) => [...m.values()].filter((v) => v === s).length
const summary = `container ${count(c, 'pass')} passed, ${count(c, 'fail')} failed, ${count(c, 'skip')} skipped`
const diffs = []
const differing = []
for (const name of new Set([...c.keys(), ...h.keys()])) {
  if (c.get(name) !== h.get(name)) {
    diffs.push(`${name}: container ${c.get(name) ?? 'missing'}, host ${h.get(name) ?? 'missing'}`)
    differing.push(name)
  }
}
if (retryFile !== undefined && differing.length > 0) {
  // the runner matches --only against "<suite> <test>"
  const escape = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  fs.writeFileSync(retryFile, `^(?:${differing.map((n) => escape(n.replace(': ', ' '))).join('|')})$`)
}
if (c.size === 0) {
  console.log(`${summary}: no test ran`)
  process.exit(1)
}
if (diffs.length > 0) {
  console.log(`${summary}; ${diffs.length} differ from the host: ${diffs.join('; ')}`)
  process.exit(1)
}
// tests that failed on both are the suite's business (it runs against memring on its own
// too), but name them so a log shows which
const failedBoth = [...c.entries()].filter(([, s]) => s === 'fail').map(([n]) => n)
console.log(`${summary}; same as the host${failedBoth.length > 0 ? ` (failed on both: ${failedBoth.join('; ')})` : ''}`)
