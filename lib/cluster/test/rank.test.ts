// The election's ranking (lib/cluster/election.ts rankCandidates), pure: who may win a
// shard's vacancy given the live hosts' published records.
import t from 'tap'
import { rankCandidates } from '../election.js'
import type { HostRecord, SwitchoverRecord } from '../layout.js'

function host (port: number, o: { epoch?: number, seqno?: number, syncing?: boolean, candidate?: boolean, repl?: boolean }): HostRecord {
  return {
    host: '127.0.0.1', port, dc: '', shard: 's1', role: 'replica', epoch: o.epoch ?? 0, instance: 'i', pid: 1,
    startedAt: 0, updatedAt: 0, load: {}, ...(o.candidate === false ? {} : { candidate: true }),
    ...(o.repl === false ? {} : {
      repl: { master: '', historyId: 'h', seqno: o.seqno ?? 0, lagMs: 0, lagSeqno: 0, syncInProgress: o.syncing ?? false, replicas: 0 },
    }),
  }
}
const nodes = (r: Array<{ node: string }>): string[] => r.map((x) => x.node)

t.test('the in-sync candidate with the highest (epoch, seqno) wins; ties go to the lowest node id', async (t) => {
  t.same(nodes(rankCandidates([host(3, { epoch: 2, seqno: 10 }), host(1, { epoch: 2, seqno: 12 }), host(2, { epoch: 3, seqno: 1 })], null)),
    ['127.0.0.1:2', '127.0.0.1:1', '127.0.0.1:3'], 'epoch first, then seqno')
  t.same(nodes(rankCandidates([host(5, { epoch: 1, seqno: 7 }), host(4, { epoch: 1, seqno: 7 })], null)), ['127.0.0.1:4', '127.0.0.1:5'])
})

t.test('an empty or syncing node never wins while any host holds a copy', async (t) => {
  // The restarted, empty old master publishes syncInProgress (it holds no complete copy).
  const r = rankCandidates([host(1, { syncing: true, seqno: 0 }), host(2, { seqno: 40, epoch: 1 }), host(3, { syncing: true, seqno: 90, epoch: 1 })], null)
  t.same(nodes(r), ['127.0.0.1:2'], 'only the in-sync replica')
  // A copy on a host that may not run (--role replica) still blocks an empty winner.
  t.same(nodes(rankCandidates([host(1, { syncing: true }), host(2, { seqno: 5, candidate: false })], null)), [], 'nobody: wait for the copy')
  t.same(nodes(rankCandidates([host(1, { seqno: 5, candidate: false })], null)), [], 'replicas are never elected')
})

t.test('a brand-new shard (no copy anywhere) elects its first candidate by node id', async (t) => {
  t.same(nodes(rankCandidates([host(9, { syncing: true }), host(7, { syncing: true }), host(8, { repl: false })], null)),
    ['127.0.0.1:7', '127.0.0.1:8', '127.0.0.1:9'])
})

t.test('a planned hand-over target goes first when it is live and in sync', async (t) => {
  const sw: SwitchoverRecord = { to: '127.0.0.1:3', epoch: 4, state: 'handed', at: 0 }
  t.same(nodes(rankCandidates([host(2, { epoch: 4, seqno: 9 }), host(3, { epoch: 4, seqno: 9 })], sw))[0], '127.0.0.1:3')
  t.same(nodes(rankCandidates([host(2, { epoch: 4, seqno: 9 }), host(3, { epoch: 4, seqno: 9, syncing: true })], sw))[0], '127.0.0.1:2', 'not when it is syncing')
  t.same(nodes(rankCandidates([host(2, { epoch: 4, seqno: 9 }), host(3, { epoch: 4, seqno: 9 })], { ...sw, state: 'requested' }))[0], '127.0.0.1:2', 'only once handed')
})
