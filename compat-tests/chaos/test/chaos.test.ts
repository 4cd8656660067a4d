// The failover checker's short run (`run.js --quick --reps 1 --acks 1`): a real ZooKeeper,
// four memring hosts, the proxy, client processes, and every fault once, asserting every
// goal row of its report. This FAILS until per-shard election with epochs and fencing and
// `--min-replicas-to-ack` are in (issue 13): on a main without them the run is not possible
// or misses the failover goals, and the assertions below say which.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { zooKeeperAvailable } from '../../../lib/testing/zookeeper.js'
import type { Summary } from '../analyze.js'
import type { RunReport } from '../report.js'

const RUN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../run.js')
const SESSION_MS = 2000

t.test('failover checker, quick run, --min-replicas-to-ack 1', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-chaos-test-'))
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }))
  const r = spawnSync(process.execPath, [RUN, '--quick', '--reps', '1', '--acks', '1', '--session-ms', String(SESSION_MS), '--out', out],
    { encoding: 'utf8', timeout: 250_000 })
  // the table, the progress lines and the notes (what clients saw, why a fault did not settle)
  t.comment(r.stdout.split('\n').filter((l) => l.startsWith('|') || l.startsWith('[') || l.startsWith('- ')).join('\n'))
  t.not(r.status, 2, `arguments accepted: ${r.stderr}`)
  const json = JSON.parse(fs.readFileSync(path.join(out, 'chaos.json'), 'utf8')) as { runs: RunReport[] }
  t.equal(json.runs.length, 1)
  const run = json.runs[0]!
  t.ok(run.possible, `the run was possible: ${run.whyNot}`)
  t.equal(run.baselineReadErrors, 0, 'no read errors before the first fault')
  t.equal(run.finalLost, 0, 'final read-back: no acknowledged write lost')
  t.equal(run.finalUnread, 0, 'final read-back: every key read')
  const kinds = ['kill', 'stop', 'zk-freeze', 'expire', 'restart-fast', 'replica-sync-kill']
  for (const kind of kinds) {
    const s = run.summaries.find((x: Summary) => x.kind === kind)
    t.ok(s !== undefined, `${kind}: measured`)
    if (s === undefined) continue
    t.equal(s.injected, s.reps, `${kind}: injected as planned`)
    t.equal(s.settled, s.attempts, `${kind}: every attempt settled (a master, replicas in sync) within the bound`)
    t.equal(s.readErrors, 0, `${kind}: read errors seen by clients`)
    t.equal(s.neverRecovered, 0, `${kind}: writes recovered`)
    t.ok(s.unavailMaxMs < SESSION_MS + 1000, `${kind}: write unavailability max ${s.unavailMaxMs} ms < session + 1 s`)
    t.equal(s.lostWrites, 0, `${kind}: acknowledged writes lost (N=1)`)
    t.equal(s.unreadKeys, 0, `${kind}: every key read back`)
    t.equal(s.fencedWrites, 0, `${kind}: writes accepted by a fenced master`)
    t.equal(s.staleReads, 0, `${kind}: stale reads after failover`)
    t.equal(s.survivorFullSyncs, 0, `${kind}: full syncs on surviving replicas`)
    t.comment(`${kind}: new master seen after p50 ${s.failoverP50Ms} ms, write unavailability p50 ${s.unavailP50Ms} ms`)
  }
  t.same(run.missed, [], 'the report lists no missed goal')
  t.equal(r.status, run.missed.length === 0 ? 0 : 1, 'the exit code says whether a goal was missed')
})
